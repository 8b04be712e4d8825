import { loadConfig, OPERATIONS, type Operation } from '@follower-maze/shared';
import { readStatus, requestOperation } from './operations-client.ts';

/**
 * `npm run ops -- <status|replay|reset>`: an operator's commands, against REDIS_URL and
 * KEY_PREFIX. `reset` starts a new sequence from 1 (stop the event source first).
 */
const OPERATION_TIMEOUT_MS = 30_000;
const command = process.argv[2] ?? 'status';
const config = loadConfig();
if (command === 'status') {
  console.log(JSON.stringify(await readStatus(config.redisUrl, config.keyPrefix), null, 2));
} else if ((OPERATIONS as readonly string[]).includes(command)) {
  console.log(`asking the active sequencer to ${command} (${config.keyPrefix} on ${config.redisUrl})...`);
  const result = await requestOperation(config.redisUrl, config.keyPrefix, command as Operation, OPERATION_TIMEOUT_MS);
  console.log(`${command} done: ${JSON.stringify(result)}`);
} else {
  console.error(`unknown command ${JSON.stringify(command)}: use status, replay or reset, e.g. npm run ops -- status`);
  process.exit(2);
}
