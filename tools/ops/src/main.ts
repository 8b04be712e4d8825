import { isCredentialsRefusal, loadConfig, OPERATIONS, redactUrl, type Operation, type RedisTarget } from '@follower-maze/shared';
import { stackRedisTarget } from '../../stack/src/stack-redis.ts';
import { readStatus, requestOperation } from './operations-client.ts';
import { runTop } from './top.ts';

/**
 * `npm run ops -- <status|top|replay|skip-gap|reset>`: an operator's commands, against the
 * Redis of the stack (REDIS_URL or REDIS_CLUSTER_NODES, or the private Redis or cluster
 * `npm start` runs) and KEY_PREFIX.
 * `top` is a live view (`top --once` prints one screen); `skip-gap` gives up on missing
 * sequence numbers; `reset` starts a new sequence from 1 (stop the event source first).
 * Redis's address is printed without its password.
 */
const OPERATION_TIMEOUT_MS = 30_000;
const command = process.argv[2] ?? 'status';
const { keyPrefix, redisTlsCa, redisClusterNodes } = loadConfig();
const target: RedisTarget = (() => {
  try {
    return redisClusterNodes ? { redisUrl: redisClusterNodes[0]!, redisClusterNodes, redisTlsCa } : { ...stackRedisTarget(), redisTlsCa };
  } catch (error) {
    console.error(`${command} not done: ${(error as Error).message}`);
    process.exit(2);
  }
})();
const redis = redactUrl(target.redisUrl);
/** What to look at when a command failed. */
const setting = target.redisClusterNodes ? 'REDIS_CLUSTER_NODES' : 'REDIS_URL';
const hint = (error: Error, otherwise: string) =>
  isCredentialsRefusal(error) ? `Redis at ${redis} refused the credentials: check the user and password in ${setting}.` : otherwise;
if (command === 'status') {
  try {
    console.log(JSON.stringify(await readStatus(target, keyPrefix), null, 2));
  } catch (error) {
    console.error(`status not read: ${(error as Error).message} ${hint(error as Error, `Is Redis running at ${redis}?`)}`);
    process.exit(1);
  }
} else if (command === 'top') {
  process.exit(await runTop({ target, keyPrefix, once: process.argv.slice(3).includes('--once') }));
} else if ((OPERATIONS as readonly string[]).includes(command)) {
  console.log(`asking the active sequencer to ${command} (${keyPrefix} on ${redis})...`);
  try {
    const result = await requestOperation(target, keyPrefix, command as Operation, OPERATION_TIMEOUT_MS);
    console.log(`${command} done: ${JSON.stringify(result)}`);
  } catch (error) {
    const otherwise = `Is a sequencer running against ${redis} with KEY_PREFIX=${keyPrefix}? The request was withdrawn.`;
    console.error(`${command} not done: ${(error as Error).message} ${hint(error as Error, otherwise)}`);
    process.exit(1);
  }
} else {
  console.error(`unknown command ${JSON.stringify(command)}: use status, top, replay, skip-gap or reset, e.g. npm run ops -- status`);
  process.exit(2);
}
