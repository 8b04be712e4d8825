import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeDelivery } from '@follower-maze/shared';
import { eventually } from '../../../test/support/redis-fixture.ts';
import { GatewayFixture } from './support/gateway-fixture.ts';

const fixture = new GatewayFixture();
const redis = fixture.redis;
const start = fixture.start.bind(fixture);
afterEach(() => fixture.cleanUp());
after(() => fixture.close());

test('announces a user online after subscribing, and writes each delivery once, byte for byte', async () => {
  const { keys, client, joined, gatewayId } = await start('gw-deliver');
  const peer = await client('42\n');
  await joined(42);
  assert.equal(await redis.sismember(keys.presence(gatewayId), '42'), 1);
  await redis.publish(keys.userChannel(42), encodeDelivery(0, ['3|S|9', '7|B']));
  await redis.publish(keys.userChannel(42), encodeDelivery(0, ['3|S|9', '7|B']));
  await redis.publish(keys.userChannel(42), encodeDelivery(0, ['7|B', '9|P|1|42']));
  await redis.publish(keys.userChannel(42), encodeDelivery(0, ['12|S|3']));
  await eventually(() => assert.equal(peer.received, '3|S|9\r\n7|B\r\n9|P|1|42\r\n12|S|3\r\n'));
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(peer.received, '3|S|9\r\n7|B\r\n9|P|1|42\r\n12|S|3\r\n', 'a repeat is dropped and an overlap trimmed');
});

test('every connection of the same user receives; the user leaves with the last one', async () => {
  const { keys, client, joined, events, gatewayId } = await start('gw-same-user');
  const first = await client('5\r\n');
  const second = await client('5\r\n');
  await joined(5);
  await eventually(async () => assert.equal(await redis.publish(keys.userChannel(5), encodeDelivery(0, ['1|B'])), 1));
  await eventually(() => {
    assert.equal(first.received, '1|B\r\n');
    assert.equal(second.received, '1|B\r\n');
  });
  first.destroy();
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(!events.some((e) => e.kind === 'leave'), 'still online through the second connection');
  second.destroy();
  // Without a write to it: a client that closed is gone at once.
  await eventually(() => assert.ok(events.some((e) => e.kind === 'leave' && e.userId === 5), 'user 5 left'), 1000);
  assert.equal(await redis.sismember(keys.presence(gatewayId), '5'), 0);
  await eventually(async () => assert.equal(await redis.publish(keys.userChannel(5), encodeDelivery(0, ['2|B'])), 0, 'unsubscribed'));
});

test('a client that shuts down its sending side after its id line is disconnected, and its user leaves', async () => {
  const { client, joined, events, service } = await start('gw-half-close-refused');
  const peer = await client('12\r\n');
  await joined(12);
  await peer.end();
  await eventually(() => assert.ok(peer.closed && events.some((e) => e.kind === 'leave' && e.userId === 12), 'closed, and user 12 left'), 1000);
  assert.equal(service.gateway.clientCount, 0);
});

test('with GATEWAY_ALLOW_HALF_OPEN, a client that shuts down its sending side after its id line still receives', async () => {
  const { keys, client, joined } = await start('gw-half-close', { GATEWAY_ALLOW_HALF_OPEN: 'true' });
  const peer = await client('11\r\n');
  await joined(11);
  await peer.end();
  await redis.publish(keys.userChannel(11), encodeDelivery(0, ['4|B']));
  await eventually(() => assert.equal(peer.received, '4|B\r\n'));
});

test('reports progress after each batch end it receives', async () => {
  const { keys, events, gatewayId } = await start('gw-ack');
  await redis.publish(keys.batchEnd, '0 1 0 17');
  await eventually(() => assert.ok(events.some((e) => e.kind === 'ack' && e.gatewayId === gatewayId && e.batchSeq === 17), 'batch 17 acknowledged'));
});

test('rejects a client whose id line is not a user id, or that sends none in time', async () => {
  const { keys, client, service } = await start('gw-reject', { GATEWAY_ID_LINE_TIMEOUT_MS: '200' });
  const garbage = await client('hello\r\n');
  const silent = await client('');
  const good = await client('  8 \r\n');
  await eventually(() => assert.ok(garbage.closed && silent.closed, 'both bad clients were disconnected'));
  assert.equal(good.closed, false);
  assert.equal(service.gateway.counters.get('clientsRejected'), 2);
  await eventually(async () => {
    const reasons = (await redis.lrange(keys.rejected, 0, -1)).map((entry) => (JSON.parse(entry) as { reason: string }).reason);
    assert.equal(reasons.length, 2);
    assert.ok(reasons.some((reason) => reason.includes('not a positive integer')), 'garbage id rejected');
    assert.ok(reasons.some((reason) => reason.includes('no user id within 200 ms')), 'silent client rejected');
  });
});

test('disconnects a client that cannot keep up, without holding up the others', async () => {
  const { keys, client, joined, service } = await start('gw-slow', { GATEWAY_MAX_CLIENT_BUFFER_BYTES: '65536' });
  const slow = await client('1\n');
  const fast = await client('2\n');
  await joined(1);
  await joined(2);
  slow.socket.pause();
  // Enough to fill the kernel's socket buffers too (several MiB on loopback).
  const bulk = (batch: number) => Array.from({ length: 10_000 }, (_, i) => `${batch * 10_000 + i}|P|2|1`);
  const dropped = () => service.gateway.counters.get('slowClientsDropped');
  for (let batch = 1; batch <= 1000 && dropped() === 0; batch++) {
    await redis.publish(keys.userChannel(1), encodeDelivery(0, bulk(batch)));
    await redis.publish(keys.userChannel(2), encodeDelivery(0, [`${batch}|B`]));
  }
  assert.equal(dropped(), 1, 'the slow client was dropped');
  // A paused socket notices the close only once it reads again.
  slow.socket.resume();
  await eventually(() => assert.ok(slow.closed, 'the slow client sees the close'));
  await eventually(() => assert.ok(fast.received.startsWith('1|B\r\n2|B\r\n'), 'the fast client is served'));
  assert.equal(fast.closed, false);
});
