import type { Redis } from 'ioredis';
import { encodeBatchEnd, encodeDelivery, type Keys } from '@follower-maze/shared';
import type { Batch } from './core/batch.ts';
import { asFenced, FENCE_LUA } from './fence.ts';

/**
 * One atomic step per batch: acknowledge the stream entries it covers, apply the net
 * follow-graph changes, record the new position, keep the deliveries in the delivery
 * log and publish them. Either all of it happens or none, so the committed position
 * always matches the graph, and a restarted sequencer neither loses nor repeats a
 * delivery. The trim job later removes what every gateway has received. Refused (FENCED) unless the caller still holds the lease and the epoch it
 * started from; a repeat of an already committed batch (a command resent after a
 * reconnect) changes nothing.
 *
 * KEYS: position, events, lease, deliveries.
 * ARGV: group, nextSeq, trimId, followersPrefix, token, epoch, previousBatchSeq, deliveryLogMinId,
 *       eventCount, ackCount, ids..., edgeGroupCount, (toUser, addCount, from..., removeCount, from...)...,
 *       deliveryCount, (userId, channel, message)..., batchEndChannel, batchEndMessage
 */
const COMMIT_LUA = `
${FENCE_LUA}
local fenced = fence(KEYS[3], ARGV[5], KEYS[1], ARGV[6])
if fenced then return redis.error_reply(fenced) end
local events = tonumber(ARGV[9])
if events > 0 and tonumber(redis.call('HGET', KEYS[1], 'nextSeq') or '1') >= tonumber(ARGV[2]) then return 0 end
local i = 10
local acks = tonumber(ARGV[i]); i = i + 1
if acks > 0 then redis.call('XACK', KEYS[2], ARGV[1], unpack(ARGV, i, i + acks - 1)) end
i = i + acks
local groups = tonumber(ARGV[i]); i = i + 1
for _ = 1, groups do
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
local batchSeq = tonumber(ARGV[2]) - 1
redis.call('HSET', KEYS[1], 'batchSeq', batchSeq)
local deliveries = tonumber(ARGV[i]); i = i + 1
local log = { 'prev', ARGV[7] }
for _ = 1, deliveries do
  redis.call('PUBLISH', ARGV[i + 1], ARGV[i + 2])
  log[#log + 1] = ARGV[i]
  log[#log + 1] = ARGV[i + 2]
  i = i + 3
end
redis.call('HSET', KEYS[1], 'deliveryFloor', ARGV[8])
redis.call('XADD', KEYS[4], batchSeq .. '-0', unpack(log))
redis.call('PUBLISH', ARGV[i], ARGV[i + 1])
return 1
`;

/** Lua's unpack() is bounded by its C stack (about 8,000 values): larger sets are sent in parts. */
const MAX_MEMBERS_PER_COMMAND = 1000;

export interface CommitRequest {
  readonly batch: Batch;
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

export function defineCommitScript(redis: Redis, keys: Keys, token: string, epoch: string): CommitScript {
  redis.defineCommand('fmCommit', { numberOfKeys: 4, lua: COMMIT_LUA });
  const commander = redis as RedisWithCommit;
  return {
    async commit({ batch, nextSeq, previousBatchSeq, ackIds, trimId, deliveryLogMinSeq }) {
      const batchSeq = nextSeq - 1;
      const args: (string | number)[] = [
        keys.position, keys.events, keys.sequencerLease, keys.deliveries,
        keys.sequencerGroup, nextSeq, trimId, keys.followersPrefix, token, epoch, previousBatchSeq, deliveryLogMinSeq,
        batch.events,
      ];
      args.push(ackIds.length, ...ackIds);
      appendEdgeGroups(args, batch);
      const bytesByUser = new Map<number, number>();
      args.push(batch.notifications.size);
      for (const [userId, notifications] of batch.notifications) {
        const message = encodeDelivery(notifications);
        bytesByUser.set(userId, message.length);
        args.push(userId, keys.userChannel(userId), message);
      }
      args.push(keys.batchEnd, encodeBatchEnd(previousBatchSeq, batchSeq));
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
