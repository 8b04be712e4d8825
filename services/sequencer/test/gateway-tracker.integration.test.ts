import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeGatewayEvent, keysFor, WaitReport, type Keys } from '@follower-maze/shared';
import { ProgressReporter } from '../../gateway/src/progress-reporter.ts';
import { GatewayPresence } from '../../gateway/src/gateway-presence.ts';
import { GatewayTracker } from '../src/gateway-tracker.ts';
import { InFlightWindow } from '../src/core/in-flight-window.ts';
import { Router } from '../src/core/router.ts';
import { deletePrefix, eventually, silentLogger, testRedis, uniquePrefix } from '../../../test/support/redis-fixture.ts';

/** Heartbeats are sent by the test itself, never by the timer. */
const NO_TIMER_MS = 3_600_000;
const GATEWAY_TTL_MS = 5000;
/** Far beyond the TTL, as between two hosts whose clocks are not kept in step. */
const CLOCK_SKEW_MS = 60_000;

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

/** A gateway's heartbeat, as the gateway sends it. */
async function heartbeat(keys: Keys, gatewayId: string): Promise<void> {
  const connection = testRedis();
  const waits = new WaitReport(connection, keys, gatewayId, silentLogger);
  const presence = new GatewayPresence(connection, keys, gatewayId, waits);
  const idle = { clients: 0, unsentBytes: 0, notificationsWritten: 0 };
  const reporter = new ProgressReporter(connection, keys, gatewayId, presence, NO_TIMER_MS, NO_TIMER_MS, waits, () => idle);
  try {
    await reporter.heartbeat();
  } finally {
    reporter.close();
    waits.close();
    connection.disconnect();
  }
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

test('heartbeats carry Redis\'s clock: with the gateway\'s and the sequencer\'s clocks a minute off, a new term keeps the live gateway and forgets the dead one', async (t) => {
  const keys = prefixFor('tracker-skew');
  // The gateway's host runs a minute behind: its heartbeat must not say so.
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() - CLOCK_SKEW_MS });
  await heartbeat(keys, 'live');
  await redis.sadd(keys.presence('live'), 7, 8);
  // A gateway that stopped past the TTL, by Redis's clock.
  const [seconds] = await redis.time();
  await redis.hset(keys.gateways, 'dead', Number(seconds) * 1000 - GATEWAY_TTL_MS - 1000);
  await redis.sadd(keys.presence('dead'), 9);
  // The sequencer's host runs a minute ahead.
  t.mock.timers.setTime(Date.now() + 2 * CLOCK_SKEW_MS);
  const router = await startTracker(keys);
  assert.deepEqual([...router.presence.usersOf('live')].sort(), [7, 8], 'the live gateway and its users are kept');
  assert.ok(!router.presence.isOnline(9), 'the dead gateway\'s users are offline');
  assert.equal(await redis.hexists(keys.gateways, 'dead'), 0, 'and it is removed from Redis');
  assert.equal(await redis.hexists(keys.gateways, 'live'), 1);
});
