import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { StackFixture, sleep } from '../support/stack-fixture.ts';

/**
 * One verification run through several failures in a row: the active sequencer is
 * killed twice, one gateway's subscriber connection is cut, and Redis is killed and
 * restarted (AOF with appendfsync always). The run must pass for every client.
 */
let fixture: StackFixture | undefined;
after(() => fixture?.stop());

test('chaos: two sequencer kills, a subscriber cut and a Redis restart during one run', async () => {
  fixture = await StackFixture.start({ appendfsync: 'always' });
  const run = fixture.verify({ totalEvents: 600_000, maxEventsPerSecond: 50_000 });
  const killed: number[] = [];
  const killActiveSequencer = async () => {
    const active = await fixture!.nextActiveSequencer(killed);
    killed.push(active.pid!);
    active.signal('SIGKILL');
  };

  await sleep(1500);
  await killActiveSequencer();

  await sleep(2500);
  const clients = String(await fixture.redis.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
  const gatewaySubscriber = /id=(\d+) .*name=gateway-\S+-subscriber/.exec(clients);
  assert.ok(gatewaySubscriber, 'a gateway subscriber is connected');
  await fixture.redis.call('CLIENT', 'KILL', 'ID', gatewaySubscriber[1]!);

  await sleep(2500);
  await fixture.stack.redis!.stop('SIGKILL');
  await sleep(500);
  await fixture.stack.redis!.start();

  await sleep(2500);
  await killActiveSequencer();

  const report = await run;
  assert.deepEqual(report.failures, []);
  assert.equal(report.ok, true);
  assert.equal(report.notificationsReceived, report.notificationsExpected);
});
