import { Redis } from 'ioredis';
import type { ScratchStack } from '../../stack/src/scratch-stack.ts';

/** How long the script holds Redis in `busy`. */
const BUSY_MS = 1500;
/** From this long into a script Redis answers other clients `BUSY` instead of leaving them waiting. */
const BUSY_REPLY_THRESHOLD_MS = 100;

/**
 * Reads the clock until `ARGV[1]` ms have passed. Read-only, so that SCRIPT KILL could
 * stop it; TIME reads the clock afresh at each call, also inside a script.
 */
const BUSY_LOOP = `
local function now()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
local deadline = now() + tonumber(ARGV[1])
while now() < deadline do end
return 1`;

/**
 * Blocks the stack's Redis with a script busy for `BUSY_MS`, the busy-reply threshold
 * (Redis 7's name for lua-time-limit) lowered so that every other client is answered
 * `BUSY` for nearly all of it; resolves once the script has returned and the threshold
 * is back to what it was. `begin` is called just before the script is sent.
 */
export async function blockRedisWithScript(stack: ScratchStack, begin: () => void): Promise<string> {
  const reply = (await stack.redis.call('CONFIG', 'GET', 'busy-reply-threshold')) as string[];
  const previous = reply[1];
  if (previous === undefined) throw new Error('this redis-server has no busy-reply-threshold setting (needs Redis 7)');
  // A connection of its own, connected before the threshold drops, that never sends the script twice.
  const client = new Redis(stack.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  client.on('error', () => undefined);
  let heldMs: number;
  try {
    await client.connect();
    await stack.redis.call('CONFIG', 'SET', 'busy-reply-threshold', String(BUSY_REPLY_THRESHOLD_MS));
    try {
      begin();
      const startedAt = performance.now();
      await client.call('EVAL', BUSY_LOOP, '0', String(BUSY_MS));
      heldMs = performance.now() - startedAt;
    } finally {
      await stack.redis.call('CONFIG', 'SET', 'busy-reply-threshold', previous);
    }
  } finally {
    client.disconnect();
  }
  return `a script held Redis for ${Math.round(heldMs)} ms, other clients answered BUSY after ${BUSY_REPLY_THRESHOLD_MS} ms (threshold back to ${previous} ms)`;
}
