import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '../../../test/support/redis-fixture.ts';
import type { TcpPeer } from '../../../test/support/tcp-peer.ts';
import { GatewayFixture } from './support/gateway-fixture.ts';

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
