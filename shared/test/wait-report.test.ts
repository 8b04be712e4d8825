import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { keysFor } from '../src/keys.ts';
import { WaitReport, type ReportedWait } from '../src/wait-report.ts';
import { deletePrefix, eventually, silentLogger, testRedis, uniquePrefix } from '../../test/support/redis-fixture.ts';

const redis = testRedis();
after(() => redis.disconnect());

test("a wait is listed while it lasts and withdrawn when over; a process killed while waiting leaves the list with anyone's next report", async () => {
  const prefix = uniquePrefix('wait-report');
  const keys = keysFor(prefix);
  const [seconds] = await redis.time();
  await redis.zadd(keys.waitingProcesses, Number(seconds) * 1000 - 10_000, 'killed-while-waiting');
  const report = new WaitReport(redis, keys, 'sequencer-test', silentLogger);
  try {
    report.begin('gap', 'event 42 (3 later events held)');
    // Shown once it has lasted a second, at the next report after that.
    await eventually(async () => {
      assert.deepEqual(await redis.zrange(keys.waitingProcesses, '0', '-1'), ['sequencer-test'], 'listed, the silent one gone');
      const [wait] = JSON.parse((await redis.get(keys.waits('sequencer-test'))) ?? '[]') as ReportedWait[];
      assert.equal(wait?.what, 'event 42 (3 later events held)', 'the wait reported');
    }, 4000, 50);
    report.end('gap');
    await eventually(async () => {
      assert.deepEqual(await redis.zrange(keys.waitingProcesses, '0', '-1'), [], 'no longer listed');
      assert.equal(await redis.exists(keys.waits('sequencer-test')), 0, 'the report is gone');
    }, 3000, 50);
  } finally {
    report.close();
    await deletePrefix(redis, prefix);
  }
});
