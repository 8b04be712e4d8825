import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { RejectionLog } from '../src/rejection-log.ts';
import { deletePrefix, testRedis, uniquePrefix } from '../../test/support/redis-fixture.ts';

const redis = testRedis();
let prefix = '';
afterEach(() => deletePrefix(redis, prefix));
after(() => redis.disconnect());

function recordingLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

function start(name: string) {
  prefix = uniquePrefix(name);
  const key = `${prefix}:rejected`;
  const { logger, lines } = recordingLogger();
  return { log: new RejectionLog(redis, key, 'test', logger), key, lines };
}

async function storedInputs(key: string): Promise<string[]> {
  return (await redis.lrange(key, 0, -1)).map((entry) => (JSON.parse(entry) as { input: string }).input);
}

test('a few rejections are stored newest first and logged one line each', async () => {
  const { log, key, lines } = start('rejections-few');
  log.record('bad', 'a');
  log.record('bad', 'b');
  await log.flush();
  assert.deepEqual(await storedInputs(key), ['b', 'a']);
  assert.deepEqual(lines.map((line) => line['input']), ['a', 'b']);
});

test('a flood keeps only the newest 10,000, in a bounded number of arguments per call, with one log line', async () => {
  const { log, key, lines } = start('rejections-flood');
  const total = 1_000_000;
  for (let i = 1; i <= total; i++) log.record('garbage', String(i));
  await log.flush();
  const inputs = await storedInputs(key);
  assert.equal(inputs.length, 10_000);
  assert.equal(inputs[0], String(total), 'newest first');
  assert.equal(inputs.at(-1), String(total - 9_999), 'exactly the newest 10,000');
  assert.equal(lines.length, 1, 'one summary line');
  assert.equal(lines[0]!['rejected'], total);
  assert.equal(lines[0]!['notKept'], total - 10_000);
});

test('rejections recorded while a write is under way are stored by the next one, the list staying capped', async () => {
  const { log, key } = start('rejections-overlap');
  for (let i = 1; i <= 15_000; i++) log.record('garbage', String(i));
  const first = log.flush();
  for (let i = 15_001; i <= 15_010; i++) log.record('garbage', String(i));
  await Promise.all([first, log.flush()]);
  const inputs = await storedInputs(key);
  assert.equal(inputs.length, 10_000);
  assert.equal(inputs[0], '15010');
  assert.equal(inputs.at(-1), '5011');
});

test('long input is cut to a readable length', async () => {
  const { log, key } = start('rejections-cut');
  log.record('too long', 'x'.repeat(5000));
  await log.flush();
  const [input] = await storedInputs(key);
  assert.equal(input, `${'x'.repeat(200)}…`);
});
