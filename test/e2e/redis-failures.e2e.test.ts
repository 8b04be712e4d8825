import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { StackFixture, sleep } from '../support/stack-fixture.ts';

/**
 * Redis-side failures during a verification run: a gateway's subscriber connection is
 * cut (pub/sub keeps nothing for it), and Redis itself is killed and restarted.
 */
let fixture: StackFixture | undefined;
afterEach(async () => {
  await fixture?.stop();
  fixture = undefined;
});

const RUN = { totalEvents: 300_000, maxEventsPerSecond: 50_000 } as const;

test('a gateway whose subscriber connection is killed catches up from the delivery log', async () => {
  fixture = await StackFixture.start();
  const run = fixture.verify(RUN);
  await sleep(1500);
  const killed = await fixture.redis.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
  assert.ok(Number(killed) >= 2, 'the subscribers of both gateways were cut');
  const report = await run;
  assert.deepEqual(report.failures, []);
  assert.equal(report.ok, true);
  const caughtUp = fixture.logs().filter((line) => line['msg'] === 'caught up after the subscriber drop');
  assert.ok(caughtUp.length >= 2, `both gateways caught up (got ${caughtUp.length})`);
});

test('Redis killed and restarted (AOF, appendfsync always): every service reconnects and nothing accepted is lost', async () => {
  fixture = await StackFixture.start({ appendfsync: 'always' });
  const run = fixture.verify(RUN);
  await sleep(1500);
  await fixture.stack.redis!.stop('SIGKILL');
  await sleep(500);
  await fixture.stack.redis!.start();
  const report = await run;
  assert.deepEqual(report.failures, []);
  assert.equal(report.ok, true);
  assert.equal(report.eventsSent, RUN.totalEvents);
});
