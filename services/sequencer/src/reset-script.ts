import type { RedisClient as Redis } from '@follower-maze/shared';
import { scanEveryMaster, type Keys } from '@follower-maze/shared';
import { asFenced } from './fence.ts';
import { luaScript } from './lua-script.ts';

const RESET_LUA = luaScript('reset.lua');
/** Keys found per SCAN step and deleted per UNLINK: the old graph goes a bounded chunk at a time. */
const KEYS_PER_STEP = 1000;

/**
 * The operator's reset: one fenced step starts the new epoch (see lua/reset.lua), then
 * the old epoch's follow graph, which nothing reads any more, is deleted in chunks.
 */
export async function resetSequence(redis: Redis, keys: Keys, token: string, expectedEpoch: number): Promise<{ epoch: number; followerSets: number }> {
  let epoch: number;
  try {
    epoch = (await redis.eval(
      RESET_LUA, 4, keys.sequencerLease, keys.position, keys.events, keys.deliveries, token, keys.sequencerGroup, expectedEpoch,
    )) as number;
  } catch (error) {
    throw asFenced(error);
  }
  const followerSets = await deleteMatching(redis, `${keys.followersPrefix(expectedEpoch)}*`);
  return { epoch, followerSets };
}

/** Deletes every key matching the pattern, a SCAN step at a time, on the node holding it; returns how many. */
async function deleteMatching(redis: Redis, pattern: string): Promise<number> {
  let deleted = 0;
  for await (const { node, keys } of scanEveryMaster(redis, pattern, KEYS_PER_STEP)) deleted += await node.unlink(keys);
  return deleted;
}
