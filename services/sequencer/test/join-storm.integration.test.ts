import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { keysFor } from '@follower-maze/shared';
import { freePorts } from '../../../tools/stack/src/free-ports.ts';
import { SupervisedProcess } from '../../../tools/stack/src/supervised-process.ts';
import { LatencyHistogram } from '../../../tools/verify/src/latency-histogram.ts';
import { GatewayTracker } from '../src/gateway-tracker.ts';
import { InFlightWindow } from '../src/core/in-flight-window.ts';
import { Router } from '../src/core/router.ts';
import { deletePrefix, eventually, silentLogger, TEST_REDIS_URL, testRedis, uniquePrefix } from '../../../test/support/redis-fixture.ts';

const CLIENTS = 10_000;
const GATEWAYS = 4;
const GATEWAY_MAIN = fileURLToPath(new URL('../../gateway/src/main.ts', import.meta.url));
const STORM = fileURLToPath(new URL('../../../test/support/id-line-storm.ts', import.meta.url));
const GATEWAY_TTL_MS = 5000;

/** The sequencer's routing, noting when each user first came online (ms, `performance.timeOrigin + performance.now()`). */
class TimedRouter extends Router {
  readonly onlineAtMs = new Map<number, number>();

  override join(gatewayId: string, userId: number): void {
    super.join(gatewayId, userId);
    if (!this.onlineAtMs.has(userId)) this.onlineAtMs.set(userId, performance.timeOrigin + performance.now());
  }
}

/**
 * A connect storm over real sockets: 10,000 clients at once over 4 gateway processes,
 * and the sequencer's presence (its tracker and router, here) must have every user, on
 * the right gateway; how long each took from its id line is reported. The clients and
 * the gateways run as processes of their own: this process then holds no client
 * descriptors, and its event loop, like a sequencer's, is free to take joins as they
 * come. The time runs from a client's write of its id line to the router's join, on
 * this machine's clock.
 */
test(`${CLIENTS} clients connecting at once over ${GATEWAYS} gateways are all routable, each gateway's share in the sequencer's presence`, async (t) => {
  const prefix = uniquePrefix('join-storm');
  const keys = keysFor(prefix);
  const redis = testRedis();
  const ports = await freePorts(GATEWAYS);
  const gateways = ports.map((port, index) => new SupervisedProcess({
    name: `gateway-${index + 1}`,
    command: process.execPath,
    args: ['--import', 'tsx', GATEWAY_MAIN],
    env: {
      ...process.env, REDIS_URL: TEST_REDIS_URL, KEY_PREFIX: prefix, CLIENT_PORT: String(port), LISTEN_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn', GATEWAYS: '1', METRICS_PORT: '0',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
    restart: false,
  }, silentLogger));
  const router = new TimedRouter();
  const tracker = new GatewayTracker(testRedis(), redis, keys, router, new InFlightWindow(), GATEWAY_TTL_MS, silentLogger);
  let storm: ChildProcess | undefined;
  try {
    for (const gateway of gateways) gateway.start();
    await eventually(async () => assert.equal(await redis.hlen(keys.gateways), GATEWAYS, 'every gateway is up'), 30_000);
    await tracker.start();

    storm = fork(STORM, ['1', String(CLIENTS), ports.join(',')], {
      execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced',
    });
    const sentAtMs = await new Promise<Map<number, number>>((resolve, reject) => {
      storm!.once('message', (message: { sentAtMs: Map<number, number> }) => resolve(message.sentAtMs));
      storm!.once('exit', (code) => reject(new Error(`the clients' process exited with code ${code}`)));
    });
    await eventually(() => assert.equal(router.onlineAtMs.size, CLIENTS, 'every user is online in the sequencer\'s presence'), 30_000);

    const histogram = new LatencyHistogram();
    let maxMs = 0;
    for (const [userId, sentAt] of sentAtMs) {
      const latencyMs = router.onlineAtMs.get(userId)! - sentAt;
      histogram.record(latencyMs);
      maxMs = Math.max(maxMs, latencyMs);
    }
    // Reported, not asserted: on a small shared machine the figure moves with whatever else runs (README, Measured).
    t.diagnostic(
      `id line to routable over ${CLIENTS} clients: p50 ${histogram.percentileMs(0.5).toFixed(1)} ms, ` +
        `p90 ${histogram.percentileMs(0.9).toFixed(1)} ms, p99 ${histogram.percentileMs(0.99).toFixed(1)} ms, max ${maxMs.toFixed(1)} ms`,
    );
    for (const gatewayId of await redis.hkeys(keys.gateways)) {
      assert.equal(router.presence.usersOf(gatewayId).size, CLIENTS / GATEWAYS, `gateway ${gatewayId} holds its share`);
    }
  } finally {
    storm?.kill();
    tracker.close();
    await Promise.all(gateways.map((gateway) => gateway.stop()));
    await deletePrefix(redis, prefix);
    redis.disconnect();
  }
});
