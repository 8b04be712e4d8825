import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeDelivery } from '@follower-maze/shared';
import { eventually } from '../../../test/support/redis-fixture.ts';
import type { TcpPeer } from '../../../test/support/tcp-peer.ts';
import { GatewayFixture, recordingLogger } from './support/gateway-fixture.ts';

const fixture = new GatewayFixture();
const redis = fixture.redis;
afterEach(() => fixture.cleanUp());
after(() => fixture.close());

/** Clients opened at a time: a burst far above the listen backlog would wait out SYN retries. */
const CONNECT_BATCH = 500;

test('5,000 clients that send their id and close are gone within 5 s: sockets, sessions, presence and leave messages', async (t) => {
  const { keys, service, events, client, joined, gatewayId } = await fixture.start('gw-close-5000');
  for (const userId of [1, 2, 3]) {
    await client(`${userId}\r\n`);
    await joined(userId);
  }
  const closing = Array.from({ length: 5000 }, (_, i) => 1000 + i);
  const announced = () => new Set(events.filter((e) => e.kind === 'join' && e.userId >= 1000).map((e) => (e as { userId: number }).userId));
  // Half close as soon as their id is written, half once their user is announced.
  const atOnce: TcpPeer[] = [];
  const afterJoin: TcpPeer[] = [];
  for (let first = 0; first < closing.length; first += CONNECT_BATCH) {
    const batch = await Promise.all(closing.slice(first, first + CONNECT_BATCH).map((userId) => client(`${userId}\r\n`)));
    for (const [index, peer] of batch.entries()) (index % 2 === 0 ? atOnce : afterJoin).push(peer);
    await Promise.all(batch.filter((_, index) => index % 2 === 0).map((peer) => peer.end()));
  }
  await eventually(() => assert.ok(announced().size >= afterJoin.length, 'the clients that wait are announced'), 20_000);
  const closedAt = performance.now();
  await Promise.all(afterJoin.map((peer) => peer.end()));
  await eventually(async () => {
    assert.equal(service.gateway.clientCount, 3, 'open sockets');
    assert.equal(service.gateway.userCount, 3, 'sessions');
    assert.equal(await redis.scard(keys.presence(gatewayId)), 3, 'presence set');
    const left = new Set(events.filter((e) => e.kind === 'leave').map((e) => (e as { userId: number }).userId));
    assert.ok(Array.from(announced()).every((userId) => left.has(userId)), 'every user announced has a leave message');
  }, 5000);
  const settledMs = Math.round(performance.now() - closedAt);
  await eventually(() => assert.ok(atOnce.concat(afterJoin).every((peer) => peer.closed), 'every client sees the close'));
  assert.ok(!events.some((e) => e.kind === 'leave' && e.userId < 1000), 'the clients that stay are still online');
  t.diagnostic(`5,000 clients closed (${announced().size} had been announced): back to the 3 that stay ${settledMs} ms after the last close`);
});

test('GATEWAY_MAX_CLIENTS: connections past it are closed at once, counted, logged once per interval and recorded; the others are served', async () => {
  const { logger, lines } = recordingLogger();
  const { keys, service, client, joined } = await fixture.start('gw-max-clients', { GATEWAY_MAX_CLIENTS: '5' }, logger);
  const admitted: TcpPeer[] = [];
  for (let userId = 1; userId <= 5; userId++) {
    admitted.push(await client(`${userId}\r\n`));
    await joined(userId);
  }
  const refused = await Promise.all([6, 7, 8].map((userId) => client(`${userId}\r\n`)));
  await eventually(() => assert.ok(refused.every((peer) => peer.closed), 'connections past the cap are closed'));
  assert.equal(service.gateway.counters.get('clientsRefused'), 3);
  assert.equal(service.gateway.clientCount, 5);
  assert.equal(lines.filter((line) => String(line['msg']).startsWith('client refused')).length, 1, 'one warning for the burst');
  await eventually(async () => {
    const reasons = (await redis.lrange(keys.rejected, 0, -1)).map((entry) => (JSON.parse(entry) as { reason: string }).reason);
    assert.equal(reasons.filter((reason) => reason.includes('maximum of 5 clients')).length, 3);
  });
  await redis.publish(keys.userChannel(1), encodeDelivery(0, ['1|B']));
  await eventually(() => assert.equal(admitted[0]!.received, '1|B\r\n'));
  // Below the cap again, a client is served.
  admitted[1]!.destroy();
  await eventually(() => assert.equal(service.gateway.clientCount, 4));
  await client('9\r\n');
  await joined(9);
});

test('GATEWAY_MAX_BUFFERED_BYTES: past it, the client with the most unsent bytes is disconnected until under; the others are served', async () => {
  const maxBufferedBytes = 1024 * 1024;
  const { logger, lines } = recordingLogger();
  const { keys, service, client, joined } = await fixture.start(
    'gw-max-buffered', { GATEWAY_MAX_BUFFERED_BYTES: String(maxBufferedBytes) }, logger,
  );
  const furthestBehind = await client('1\n');
  const behind = await client('2\n');
  const reading = await client('3\n');
  for (const userId of [1, 2, 3]) await joined(userId);
  furthestBehind.socket.pause();
  behind.socket.pause();
  // Enough to fill the kernel's socket buffers first (several MiB on loopback).
  const notifications = (batch: number, count: number, to: number) => Array.from({ length: count }, (_, i) => `${batch * 10_000 + i}|P|9|${to}`);
  const drops = () => service.gateway.counters.get('totalBufferDrops');
  let sentToBehind = '';
  for (let batch = 1; batch <= 1000 && drops() === 0; batch++) {
    await redis.publish(keys.userChannel(1), encodeDelivery(0, notifications(batch, 10_000, 1)));
    await redis.publish(keys.userChannel(2), encodeDelivery(0, notifications(batch, 100, 2)));
    await redis.publish(keys.userChannel(3), encodeDelivery(0, [`${batch}|B`]));
    sentToBehind += notifications(batch, 100, 2).map((notification) => `${notification}\r\n`).join('');
  }
  assert.equal(drops(), 1, 'one client was disconnected');
  assert.equal(service.gateway.counters.get('slowClientsDropped'), 0, 'not for its own limit');
  assert.ok(service.gateway.bufferedBytes <= maxBufferedBytes, `${service.gateway.bufferedBytes} bytes buffered, under the cap`);
  assert.equal(lines.filter((line) => String(line['msg']).startsWith('client with the most unsent bytes disconnected')).length, 1);
  // A paused socket notices the close only once it reads again.
  furthestBehind.socket.resume();
  behind.socket.resume();
  await eventually(() => assert.ok(furthestBehind.closed, 'the client furthest behind is disconnected'));
  await eventually(() => assert.ok(reading.received.startsWith('1|B\r\n2|B\r\n'), 'the reading client is served'));
  await eventually(() => assert.ok(behind.received === sentToBehind, 'the client less far behind receives everything'));
  assert.equal(behind.closed, false, 'the client less far behind stays');
  assert.equal(reading.closed, false);
});
