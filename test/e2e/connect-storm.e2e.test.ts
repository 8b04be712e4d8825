import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { StackFixture } from '../support/stack-fixture.ts';

const CLIENTS = 10_000;
const GATEWAYS = 4;
const TOTAL_EVENTS = 100_000;

/**
 * The verification scenario of a connect storm: 10,000 clients connect at once over 4
 * gateways, and the event source starts 200 ms after the last id line was sent, as the
 * standard checker's does. Every client must be routable by then: a notification routed
 * before the sequencer heard of its user's join is lost, and fails the run.
 */
let fixture: StackFixture | undefined;
afterEach(async () => {
  await fixture?.stop();
  fixture = undefined;
});

test(`${CLIENTS} clients connecting at once over ${GATEWAYS} gateways, the source 200 ms after the last id line: every notification arrives`, async () => {
  fixture = await StackFixture.start({ gateways: GATEWAYS, sequencers: 1 });
  const report = await fixture.verify({
    totalEvents: TOTAL_EVENTS, concurrencyLevel: CLIENTS, numberOfUsers: CLIENTS * 10, sourceStartDelayMs: 200,
  });
  assert.deepEqual(report.failures, []);
  assert.equal(report.ok, true);
  assert.equal(report.notificationsReceived, report.notificationsExpected);
  // With seed 666 the newest clients' first notifications come within the first events: about 230,000 in all.
  assert.ok(report.notificationsExpected > 200_000, `only ${report.notificationsExpected} notifications expected`);
});
