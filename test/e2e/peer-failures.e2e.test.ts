import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { keysFor } from '@follower-maze/shared';
import { requestOperation } from '../../tools/ops/src/operations-client.ts';
import { StackFixture, sleep } from '../support/stack-fixture.ts';
import { broadcasts, connectClients, sendEvents, wire } from '../support/broadcast-clients.ts';
import { eventually } from '../support/redis-fixture.ts';
import { TcpPeer } from '../support/tcp-peer.ts';

/**
 * Failures at the edges: a gateway dies, the event source reconnects, the ingest
 * service dies, and an operator starts a new sequence on purpose.
 */
let fixture: StackFixture | undefined;
afterEach(async () => {
  await fixture?.stop();
  fixture = undefined;
});

test('a killed gateway drops its own clients only; its restart serves new clients', async () => {
  fixture = await StackFixture.start({ sequencers: 1 });
  const [port1, port2] = fixture.gatewayPorts as [number, number];
  const onFirst = await connectClients(fixture.redis, fixture.keyPrefix, [[1, port1], [2, port1], [3, port1]]);
  const onSecond = await connectClients(fixture.redis, fixture.keyPrefix, [[4, port2], [5, port2], [6, port2]]);
  const total = 20_000;
  for (let from = 1; from <= total; from += 1000) {
    await sendEvents(fixture.eventPort, broadcasts(from, from + 999));
    if (from === 5001) fixture.stack.process('gateway-1').signal('SIGKILL');
    await sleep(20);
  }
  await eventually(() => assert.ok(onFirst.every((peer) => peer.closed), 'clients of the killed gateway are disconnected'));
  await eventually(() => {
    for (const peer of onSecond) assert.equal(peer.received, wire(broadcasts(1, total)));
  }, 10_000);
  assert.ok(onSecond.every((peer) => !peer.closed), 'clients of the other gateway stay connected');

  const [again] = await eventually(() => connectClients(fixture!.redis, fixture!.keyPrefix, [[1, port1]]), 15_000, 200);
  await sendEvents(fixture.eventPort, broadcasts(total + 1, total + 10));
  await eventually(() => assert.equal(again!.received, wire(broadcasts(total + 1, total + 10))));
  for (const peer of onSecond) await eventually(() => assert.equal(peer.received, wire(broadcasts(1, total + 10))));
});

test('a reconnecting event source continues the sequence; duplicates are dropped and counted; a reset starts again from 1', async () => {
  fixture = await StackFixture.start({ sequencers: 1 });
  const keys = keysFor(fixture.keyPrefix);
  const [port1, port2] = fixture.gatewayPorts as [number, number];
  const [user1, user2, user3] = await connectClients(fixture.redis, fixture.keyPrefix, [[1, port1], [2, port2], [3, port1]]);
  const first = ['1|F|1|2', '2|S|2', ...broadcasts(3, 3000)];
  await sendEvents(fixture.eventPort, first);
  await sendEvents(fixture.eventPort, [...broadcasts(2901, 6000), '6001|S|2'], '\n');
  const shared = broadcasts(3, 6000);
  await eventually(() => {
    assert.equal(user1!.received, wire(['2|S|2', ...shared, '6001|S|2']));
    assert.equal(user2!.received, wire(['1|F|1|2', ...shared]));
    assert.equal(user3!.received, wire(shared));
  }, 10_000);
  await eventually(async () => {
    const duplicates = (await fixture!.redis.lrange(keys.rejected, 0, -1)).filter((entry) => entry.includes('duplicate sequence number'));
    assert.equal(duplicates.length, 100);
  });

  const reset = (await requestOperation({ redisUrl: fixture.redisUrl }, fixture.keyPrefix, 'reset', 20_000)) as { epoch: number };
  assert.equal(reset.epoch, 1);
  assert.equal(await fixture.redis.exists(`${keys.followersPrefix(0)}2`), 0, 'the old epoch\'s follow graph is gone');
  assert.equal(await fixture.redis.hget(keys.position, 'nextSeq'), '1');
  const before = [user1!.received, user2!.received, user3!.received];
  await sendEvents(fixture.eventPort, [...broadcasts(1, 99), '100|S|2', ...broadcasts(101, 200)]);
  const again = wire([...broadcasts(1, 99), ...broadcasts(101, 200)]);
  await eventually(() => {
    assert.equal(user1!.received, before[0] + again, 'user 1 no longer follows user 2 after the reset');
    assert.equal(user2!.received, before[1] + again);
    assert.equal(user3!.received, before[2] + again);
  }, 10_000);
});

test('a killed ingest service loses nothing it appended; the restarted one accepts the reconnecting source', async () => {
  fixture = await StackFixture.start({ sequencers: 1 });
  const [port1, port2] = fixture.gatewayPorts as [number, number];
  const clients = await connectClients(fixture.redis, fixture.keyPrefix, [[1, port1], [2, port2]]);
  await sendEvents(fixture.eventPort, broadcasts(1, 5000));
  await eventually(() => clients.forEach((peer) => assert.equal(peer.received, wire(broadcasts(1, 5000)))));
  const source = await TcpPeer.open(fixture.eventPort);
  void source.write(wire(broadcasts(5001, 7000)));
  fixture.stack.process('ingest').signal('SIGKILL');
  await eventually(() => assert.ok(source.closed, 'the source saw the ingest die'));
  // The source cannot know how much of its last write arrived: it resends from what it knows was delivered.
  await eventually(() => sendEvents(fixture!.eventPort, broadcasts(5001, 10_000)), 15_000, 200);
  await eventually(() => clients.forEach((peer) => assert.equal(peer.received, wire(broadcasts(1, 10_000)))), 10_000);
});

test('a gateway taken for dead while paused drops its clients when it is back, rather than leave them a hole', async () => {
  fixture = await StackFixture.start({ sequencers: 1, env: { SEQUENCER_GATEWAY_TTL_MS: '1000' } });
  const [port1, port2] = fixture.gatewayPorts as [number, number];
  const [paused, other] = await connectClients(fixture.redis, fixture.keyPrefix, [[1, port1], [2, port2]]);
  await sendEvents(fixture.eventPort, broadcasts(1, 10));
  await eventually(() => assert.equal(paused!.received, wire(broadcasts(1, 10))));
  const gateway = fixture.stack.process('gateway-1');
  gateway.signal('SIGSTOP');
  await eventually(() => assert.ok(fixture!.logs().some((line) => line['msg'] === 'gateway silent: its users are now offline')), 5000);
  await sendEvents(fixture.eventPort, broadcasts(11, 20));
  await eventually(() => assert.equal(other!.received, wire(broadcasts(1, 20))));
  gateway.signal('SIGCONT');
  await eventually(() => assert.ok(paused!.closed, 'its client is disconnected: it missed 11..20'));
  assert.equal(paused!.received, wire(broadcasts(1, 10)));
  const [back] = await connectClients(fixture.redis, fixture.keyPrefix, [[1, port1]]);
  await sendEvents(fixture.eventPort, broadcasts(21, 30));
  await eventually(() => assert.equal(back!.received, wire(broadcasts(21, 30))));
  await eventually(() => assert.equal(other!.received, wire(broadcasts(1, 30))));
});
