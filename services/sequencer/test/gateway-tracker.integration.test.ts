import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeGatewayEvent, keysFor, type Keys } from '@follower-maze/shared';
import { GatewayTracker } from '../src/gateway-tracker.ts';
import { InFlightWindow } from '../src/core/in-flight-window.ts';
import { Router } from '../src/core/router.ts';
import { deletePrefix, eventually, silentLogger, testRedis, uniquePrefix } from '../../../test/support/redis-fixture.ts';

const GATEWAY_TTL_MS = 5000;

const redis = testRedis();
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
after(() => redis.disconnect());

async function startTracker(keys: Keys): Promise<Router> {
  const router = new Router();
  const [subscriber, connection] = [testRedis(), testRedis()];
  const tracker = new GatewayTracker(subscriber, connection, keys, router, new InFlightWindow(), GATEWAY_TTL_MS, silentLogger);
  cleanups.push(() => {
    tracker.close();
    connection.disconnect();
  });
  await tracker.start();
  return router;
}

function prefixFor(name: string): Keys {
  const prefix = uniquePrefix(name);
  cleanups.push(() => deletePrefix(redis, prefix));
  return keysFor(prefix);
}

test('a packed join or leave applies to every user it names, in order with the rest', async () => {
  const keys = prefixFor('tracker-packed');
  const router = await startTracker(keys);
  const publish = (message: string) => redis.publish(keys.gatewayEvents, message);
  const users = Array.from({ length: 1000 }, (_, i) => i + 1);
  await publish(encodeGatewayEvent({ kind: 'join', gatewayId: 'g1', userIds: users }));
  await publish(encodeGatewayEvent({ kind: 'join', gatewayId: 'g2', userIds: [5, 2000] }));
  await publish(encodeGatewayEvent({ kind: 'leave', gatewayId: 'g1', userIds: users.slice(0, 10) }));
  // As gateways sent it before joins were packed: a list of one.
  await publish('join g1 3000');
  await publish('join g1 1,x,3');
  await eventually(() => assert.ok(router.presence.isOnline(3000), 'the single join applied'));
  assert.deepEqual([...router.presence.usersOf('g1')].sort((a, b) => a - b), [...users.slice(10), 3000]);
  assert.ok(router.presence.isOnline(5), 'user 5 left g1 but is still on g2');
  assert.ok(!router.presence.isOnline(4), 'user 4 left');
  assert.ok(!router.presence.isOnline(1), 'an unreadable list applies to nobody');
});
