import type { Redis } from 'ioredis';
import { encodeBatchMarker, encodeDelivery, type Keys } from '@follower-maze/shared';
import type { Batch } from './core/batch.ts';
import { asFenced, FENCE_LUA } from './fence.ts';

/**
 * One atomic step per batch: acknowledge the stream entries it covers, apply the net
 * follow-graph changes, record the new position, keep the deliveries in the delivery
 * log and publish them. Either all of it happens or none, so the committed position
 * always matches the graph, and a restarted sequencer neither loses nor repeats a
 * delivery. The trim job later removes what every gateway has received.
 *
 * Refused (FENCED) unless the caller still holds the lease and its epoch, and the stored
 * position is the one the batch starts from: a sequencer whose memory is ahead of Redis
 * (Redis lost writes) or behind it (another one committed) must reload. A resent script
 * of a batch that was already committed changes nothing.
 *
 * KEYS: position, events, lease, deliveries.
 * ARGV: group, nextSeq, trimId, followersPrefix, token, epoch, previousBatchSeq, deliveryFloor,
 *       eventCount, startNextSeq, batchId, batchEndMessage, ackCount, ids..., edgeGroupCount, (toUser, addCount, from..., removeCount, from...)...,
 *       deliveryCount, (userId, channel, message)..., batchEndChannel
 */
const COMMIT_LUA = `
${FENCE_LUA}
local fenced = fence(KEYS[3], ARGV[5], KEYS[1], ARGV[6])
if fenced then return redis.error_reply(fenced) end
local events = tonumber(ARGV[9])
local stored = redis.call('HGET', KEYS[1], 'nextSeq') or '1'
if stored ~= ARGV[10] then
  if events > 0 and stored == ARGV[2] then return 0 end
  return redis.error_reply('FENCED position is ' .. stored .. ', not ' .. ARGV[10])
end
-- Find each part's arguments first, so that the one write that can fail (XADD) comes before any other.
local acksAt = 14
local groupsAt = acksAt + tonumber(ARGV[13])
local deliveriesAt = groupsAt + 1
for _ = 1, tonumber(ARGV[groupsAt]) do
  local adds = tonumber(ARGV[deliveriesAt + 1])
  deliveriesAt = deliveriesAt + 3 + adds + tonumber(ARGV[deliveriesAt + 2 + adds])
end
local deliveries = tonumber(ARGV[deliveriesAt])
if events > 0 then
  local logged = {}
  for d = 0, deliveries - 1 do
    local at = deliveriesAt + 1 + d * 3
    logged[#logged + 1] = ARGV[at] .. ' ' .. #ARGV[at + 2] .. '\\n' .. ARGV[at + 2]
  end
  redis.call('XADD', KEYS[4], ARGV[11], 'marker', ARGV[12], 'd', table.concat(logged))
end
local last = groupsAt - 1
local i = acksAt
while i <= last do
  local upto = math.min(i + 999, last)
  redis.call('XACK', KEYS[2], ARGV[1], unpack(ARGV, i, upto))
  i = upto + 1
end
i = groupsAt + 1
for _ = 1, tonumber(ARGV[groupsAt]) do
  local key = ARGV[4] .. ARGV[i]
  local adds = tonumber(ARGV[i + 1]); i = i + 2
  if adds > 0 then redis.call('SADD', key, unpack(ARGV, i, i + adds - 1)) end
  i = i + adds
  local removes = tonumber(ARGV[i]); i = i + 1
  if removes > 0 then redis.call('SREM', key, unpack(ARGV, i, i + removes - 1)) end
  i = i + removes
end
redis.call('HSET', KEYS[1], 'nextSeq', ARGV[2], 'trimId', ARGV[3])
if events == 0 then return 1 end
redis.call('HSET', KEYS[1], 'batchSeq', tonumber(ARGV[2]) - 1, 'deliveryFloor', ARGV[8])
for d = 0, deliveries - 1 do
  local at = deliveriesAt + 1 + d * 3
  redis.call('PUBLISH', ARGV[at + 1], ARGV[at + 2])
end
redis.call('PUBLISH', ARGV[deliveriesAt + 1 + deliveries * 3], ARGV[12])
return 1
`;

/** Lua's unpack() is bounded by its C stack (about 8,000 values): larger sets are sent in parts. */
const MAX_MEMBERS_PER_COMMAND = 1000;

export interface CommitRequest {
  readonly batch: Batch;
  /** The committed position before this batch. */
  readonly startNextSeq: number;
  readonly nextSeq: number;
  /** The last committed batch before this one; gateways use it to see that they missed nothing. */
  readonly previousBatchSeq: number;
  /** Stream entries whose every event is now applied. */
  readonly ackIds: readonly string[];
  /** Entries below this id are acknowledged and may be trimmed. */
  readonly trimId: string;
  /** Delivery log entries below this batch are no longer needed by any gateway. */
  readonly deliveryLogMinSeq: number;
}

export interface CommitScript {
  /** Returns the bytes published to each user. */
  commit(request: CommitRequest): Promise<Map<number, number>>;
}

type RedisWithCommit = Redis & { fmCommit(...args: (string | number)[]): Promise<number> };

export interface CommitIdentity {
  readonly token: string;
  readonly epoch: number;
  readonly term: number;
}

export function defineCommitScript(redis: Redis, keys: Keys, { token, epoch, term }: CommitIdentity): CommitScript {
  redis.defineCommand('fmCommit', { numberOfKeys: 4, lua: COMMIT_LUA });
  const commander = redis as RedisWithCommit;
  return {
    async commit({ batch, startNextSeq, nextSeq, previousBatchSeq, ackIds, trimId, deliveryLogMinSeq }) {
      const batchSeq = nextSeq - 1;
      const marker = encodeBatchMarker({ epoch, term, previousSeq: previousBatchSeq, batchSeq });
      const args: (string | number)[] = [
        keys.position, keys.events, keys.sequencerLease, keys.deliveries,
        keys.sequencerGroup, nextSeq, trimId, keys.followersPrefix, token, epoch, previousBatchSeq, deliveryLogMinSeq,
        batch.events, startNextSeq, `${batchSeq}-0`, marker,
      ];
      args.push(ackIds.length, ...ackIds);
      appendEdgeGroups(args, batch);
      const bytesByUser = new Map<number, number>();
      args.push(batch.notifications.size);
      for (const [userId, notifications] of batch.notifications) {
        const message = encodeDelivery(epoch, notifications);
        bytesByUser.set(userId, message.length);
        args.push(userId, keys.userChannel(userId), message);
      }
      args.push(keys.batchEnd);
      try {
        await commander.fmCommit(...args);
      } catch (error) {
        throw asFenced(error);
      }
      return bytesByUser;
    },
  };
}

function appendEdgeGroups(args: (string | number)[], batch: Batch): void {
  const countAt = args.length;
  args.push(0);
  let groups = 0;
  for (const [to, changes] of batch.edgeChanges) {
    const adds: number[] = [];
    const removes: number[] = [];
    for (const [from, follows] of changes) (follows ? adds : removes).push(from);
    for (let start = 0; start < Math.max(adds.length, removes.length); start += MAX_MEMBERS_PER_COMMAND) {
      const addPart = adds.slice(start, start + MAX_MEMBERS_PER_COMMAND);
      const removePart = removes.slice(start, start + MAX_MEMBERS_PER_COMMAND);
      args.push(to, addPart.length, ...addPart, removePart.length, ...removePart);
      groups++;
    }
  }
  args[countAt] = groups;
}
