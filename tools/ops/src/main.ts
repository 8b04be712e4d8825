import { loadConfig, OPERATIONS, type Operation } from '@follower-maze/shared';
import { stackRedisUrl } from '../../stack/src/stack-redis.ts';
import { readStatus, requestOperation } from './operations-client.ts';
import { runTop } from './top.ts';

/**
 * `npm run ops -- <status|top|replay|skip-gap|reset>`: an operator's commands, against the
 * Redis of the stack (REDIS_URL, or the private one `npm start` runs) and KEY_PREFIX.
 * `top` is a live view (`top --once` prints one screen); `skip-gap` gives up on missing
 * sequence numbers; `reset` starts a new sequence from 1 (stop the event source first).
 */
const OPERATION_TIMEOUT_MS = 30_000;
const command = process.argv[2] ?? 'status';
const { keyPrefix } = loadConfig();
const redisUrl = stackRedisUrl();
if (command === 'status') {
  try {
    console.log(JSON.stringify(await readStatus(redisUrl, keyPrefix), null, 2));
  } catch (error) {
    console.error(`status not read: ${(error as Error).message}. Is Redis running at ${redisUrl}?`);
    process.exit(1);
  }
} else if (command === 'top') {
  process.exit(await runTop({ redisUrl, keyPrefix, once: process.argv.slice(3).includes('--once') }));
} else if ((OPERATIONS as readonly string[]).includes(command)) {
  console.log(`asking the active sequencer to ${command} (${keyPrefix} on ${redisUrl})...`);
  try {
    const result = await requestOperation(redisUrl, keyPrefix, command as Operation, OPERATION_TIMEOUT_MS);
    console.log(`${command} done: ${JSON.stringify(result)}`);
  } catch (error) {
    console.error(
      `${command} not done: ${(error as Error).message}. Is a sequencer running against ${redisUrl} ` +
        `with KEY_PREFIX=${keyPrefix}? The request was withdrawn.`,
    );
    process.exit(1);
  }
} else {
  console.error(`unknown command ${JSON.stringify(command)}: use status, top, replay, skip-gap or reset, e.g. npm run ops -- status`);
  process.exit(2);
}
