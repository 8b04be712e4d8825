import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { StackFixture, sleep } from '../support/stack-fixture.ts';

/**
 * Crashes of the sequencer while a verification run is in flight: the run must pass
 * for every client, with nothing missing, doubled or out of order.
 */
let fixture: StackFixture | undefined;
afterEach(async () => {
  await fixture?.stop();
  fixture = undefined;
});

/** Long enough for crashes to land mid-run: 300,000 events at 50,000/s. */
const RUN = { totalEvents: 300_000, maxEventsPerSecond: 50_000 } as const;

test('kill -9 of the active sequencer at random moments: the standby resumes from the committed offset', async () => {
  fixture = await StackFixture.start();
  const run = fixture.verify(RUN);
  const killedPids: number[] = [];
  // The kills land mid-run, once events flow: a term that begins before the first commit rightly starts from 1.
  while (Number((await fixture.redis.hget(`${fixture.keyPrefix}:position`, 'nextSeq')) ?? 1) <= 1) await sleep(20);
  for (let kill = 0; kill < 2; kill++) {
    const active = await fixture.nextActiveSequencer(killedPids);
    await sleep(500 + Math.random() * 1000);
    killedPids.push(active.pid!);
    active.signal('SIGKILL');
  }
  const report = await run;
  assert.deepEqual(report.failures, []);
  assert.equal(report.ok, true);
  await fixture.nextActiveSequencer(killedPids);
  const resumed = fixture.logs().filter((line) => line['msg'] === 'active: resumed from the committed position');
  assert.ok(resumed.length >= 3, `three terms began (got ${resumed.length})`);
  assert.ok(resumed.slice(1).every((line) => Number(line['nextSeq']) > 1), 'no term after the first restarted from 1');
});

test('a paused sequencer loses its lease within 2 s; when it wakes its commits are refused and it steps down', async (t) => {
  fixture = await StackFixture.start();
  const run = fixture.verify(RUN);
  await sleep(1000);
  const paused = await fixture.activeSequencer();
  assert.ok(paused?.pid, 'a sequencer is active');
  paused.signal('SIGSTOP');
  const pausedAt = Date.now();
  let takeoverMs = Infinity;
  while (Date.now() - pausedAt < 5000) {
    const active = await fixture.activeSequencer();
    if (active && active.pid !== paused.pid) {
      takeoverMs = Date.now() - pausedAt;
      break;
    }
    await sleep(20);
  }
  t.diagnostic(`the standby took over ${takeoverMs} ms after the active sequencer was paused`);
  assert.ok(takeoverMs < 2000, `the standby took over after ${takeoverMs} ms`);
  await sleep(1000);
  paused.signal('SIGCONT');
  const report = await run;
  assert.deepEqual(report.failures, []);
  assert.equal(report.ok, true);
  const woken = fixture.logs().filter((line) => line['pid'] === paused.pid);
  assert.ok(
    woken.some((line) => line['msg'] === 'refused by the fence: stepping down' || line['msg'] === 'lease lost: stepping down'),
    'the woken sequencer stepped down',
  );
  assert.notEqual((await fixture.activeSequencer())?.pid, paused.pid);
});
