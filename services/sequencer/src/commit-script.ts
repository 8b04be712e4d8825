import type { Redis } from 'ioredis';
import { encodeDelivery, type Keys } from '@follower-maze/shared';
import type { Batch } from './core/batch.ts';

/**
 * One atomic step per batch: acknowledge the stream entries it covers, apply the net
 * follow-graph changes, record the new position and publish every delivery. Either all
 * of it happens or none, so the committed position always matches the graph, and a
 * restarted sequencer neither loses nor repeats a delivery.
 *
 * KEYS: position hash, events stream.
 * ARGV: group, nextSeq, trimId, followersPrefix,
 *       ackCount, ids..., edgeGroupCount, (toUser, addCount, from..., removeCount, from...)...,
 *       publishCount, (channel, message)...
 */
const COMMIT_LUA = `
local i = 5
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
local publishes = tonumber(ARGV[i]); i = i + 1
for _ = 1, publishes do
  redis.call('PUBLISH', ARGV[i], ARGV[i + 1]); i = i + 2
end
return 0
`;

/** Lua's unpack() is bounded by its C stack (about 8,000 values): larger sets are sent in parts. */
const MAX_MEMBERS_PER_COMMAND = 1000;

export interface CommitRequest {
  readonly batch: Batch;
  readonly nextSeq: number;
  /** Stream entries whose every event is now applied. */
  readonly ackIds: readonly string[];
  /** Entries below this id are acknowledged and may be trimmed. */
  readonly trimId: string;
}

export interface CommitScript {
  /** Returns the bytes published to each user. */
  commit(request: CommitRequest): Promise<Map<number, number>>;
}

type RedisWithCommit = Redis & { fmCommit(...args: (string | number)[]): Promise<number> };

export function defineCommitScript(redis: Redis, keys: Keys): CommitScript {
  redis.defineCommand('fmCommit', { numberOfKeys: 2, lua: COMMIT_LUA });
  const commander = redis as RedisWithCommit;
  return {
    async commit({ batch, nextSeq, ackIds, trimId }) {
      const args: (string | number)[] = [keys.position, keys.events, keys.sequencerGroup, nextSeq, trimId, keys.followersPrefix];
      args.push(ackIds.length, ...ackIds);
      appendEdgeGroups(args, batch);
      const bytesByUser = new Map<number, number>();
      const batchSeq = nextSeq - 1;
      args.push(batch.notifications.size + 1);
      for (const [userId, notifications] of batch.notifications) {
        const message = encodeDelivery(batchSeq, notifications);
        bytesByUser.set(userId, message.length);
        args.push(keys.userChannel(userId), message);
      }
      args.push(keys.batchEnd, batchSeq);
      await commander.fmCommit(...args);
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
