import type { Redis } from 'ioredis';
import type { Keys } from '@follower-maze/shared';
import { BATCH_RESET } from '@follower-maze/shared';
import { asFenced } from './fence.ts';

/**
 * The operator's reset, in one fenced step: the follow graph, the stream's content and
 * the delivery log go, the consumer group skips to the end, the position restarts at 1
 * under a new epoch (older sequencers are refused), and gateways are told to forget
 * what they had sent.
 *
 * KEYS: lease, position, events, deliveries, followers keys...
 * ARGV: token, group, batchEndChannel, resetMessage
 */
const RESET_LUA = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('FENCED lease lost') end
for k = 5, #KEYS do redis.call('DEL', KEYS[k]) end
redis.call('XTRIM', KEYS[3], 'MAXLEN', 0)
redis.call('XGROUP', 'SETID', KEYS[3], ARGV[2], '$')
redis.call('DEL', KEYS[4])
local epoch = redis.call('HINCRBY', KEYS[2], 'epoch', 1)
redis.call('HSET', KEYS[2], 'nextSeq', 1, 'batchSeq', 0, 'trimId', '0-0', 'deliveryFloor', 0)
redis.call('PUBLISH', ARGV[3], ARGV[4])
return epoch
`;

export async function resetSequence(redis: Redis, keys: Keys, token: string): Promise<{ epoch: number; followerSets: number }> {
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
      token, keys.sequencerGroup, keys.batchEnd, BATCH_RESET,
    )) as number;
    return { epoch, followerSets: followerKeys.length };
  } catch (error) {
    throw asFenced(error);
  }
}
