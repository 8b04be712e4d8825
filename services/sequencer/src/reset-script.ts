import type { Redis } from 'ioredis';
import type { Keys } from '@follower-maze/shared';
import { asFenced } from './fence.ts';

/**
 * The operator's reset, in one fenced step: the follow graph, the stream's content and
 * the delivery log go, the consumer group skips to the end, and the position restarts
 * at 1 under a new epoch: older sequencers are refused, and gateways, seeing the epoch in
 * the next deliveries, forget what they had sent. Refused as well when the epoch is no
 * longer the one the operator saw (a late or repeated request must not wipe a new sequence).
 *
 * KEYS: lease, position, events, deliveries, followers keys...
 * ARGV: token, group, expectedEpoch
 */
const RESET_LUA = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('FENCED lease lost') end
local epoch = redis.call('HGET', KEYS[2], 'epoch') or '0'
if epoch ~= ARGV[3] then return redis.error_reply('STALE reset for epoch ' .. ARGV[3] .. ', the epoch is ' .. epoch) end
for k = 5, #KEYS do redis.call('DEL', KEYS[k]) end
redis.call('XTRIM', KEYS[3], 'MAXLEN', 0)
redis.call('XGROUP', 'SETID', KEYS[3], ARGV[2], '$')
redis.call('DEL', KEYS[4])
local epoch = redis.call('HINCRBY', KEYS[2], 'epoch', 1)
redis.call('HSET', KEYS[2], 'nextSeq', 1, 'batchSeq', 0, 'trimId', '0-0', 'deliveryFloor', 0)
return epoch
`;

export async function resetSequence(redis: Redis, keys: Keys, token: string, expectedEpoch: number): Promise<{ epoch: number; followerSets: number }> {
  const followerKeys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${keys.followersPrefix}*`, 'COUNT', 1000);
    cursor = next;
    followerKeys.push(...found);
  } while (cursor !== '0');
  try {
    const epoch = (await redis.eval(
      RESET_LUA, 4 + followerKeys.length,
      keys.sequencerLease, keys.position, keys.events, keys.deliveries, ...followerKeys,
      token, keys.sequencerGroup, expectedEpoch,
    )) as number;
    return { epoch, followerSets: followerKeys.length };
  } catch (error) {
    throw asFenced(error);
  }
}
