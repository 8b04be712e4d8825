import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { runVerification, type VerificationOptions } from '../../tools/verify/src/index.ts';
import { Stack } from '../../tools/stack/src/stack.ts';
import { waitUntilReady } from '../../tools/stack/src/readiness.ts';
import { connectClients, sendEvents } from '../support/broadcast-clients.ts';
import { deletePrefix, eventually, silentLogger, TEST_REDIS_URL, testRedis, uniquePrefix } from '../support/redis-fixture.ts';
import { freePorts } from '../../tools/stack/src/free-ports.ts';

/**
 * The whole product as processes (ingest, sequencer, two gateways) against a real
 * Redis, checked by the verification client over real sockets.
 */
const redis = testRedis();
after(() => redis.disconnect());

const TOTAL_EVENTS = 200_000;

/**
 * Two gateways either as two processes on two ports (clients spread over both by the
 * verification client) or as two cluster workers behind one port (`GATEWAYS=2`, as
 * `npm start` runs them).
 */
type GatewayLayout = 'two-ports' | 'cluster';

/** A started stack against the shared Redis under a key prefix of its own; `stop` also deletes the keys. */
async function startStack(layout: GatewayLayout, env: NodeJS.ProcessEnv = {}) {
  const prefix = uniquePrefix('e2e');
  const [eventPort, ...ports] = await freePorts(3);
  const gatewayPorts = layout === 'two-ports' ? ports : ports.slice(0, 1);
  const stack = new Stack({
    redisUrl: TEST_REDIS_URL,
    redisPort: 0,
    dataDir: '',
    env: {
      KEY_PREFIX: prefix, EVENT_PORT: String(eventPort), LISTEN_HOST: '127.0.0.1', LOG_LEVEL: 'warn',
      CLIENT_PORT: String(gatewayPorts[0]), GATEWAYS: '2', ...env,
    },
    ...(layout === 'two-ports' && { gatewayPorts }),
    stdio: ['ignore', 'ignore', 'inherit'],
    restart: false,
  }, silentLogger);
  const stop = async () => {
    await stack.stop();
    await deletePrefix(redis, prefix);
  };
  try {
    await stack.start();
    await waitUntilReady({ redisUrl: TEST_REDIS_URL, keyPrefix: prefix, eventPort: eventPort!, gateways: 2 });
  } catch (error) {
    await stop();
    throw error;
  }
  return { prefix, eventPort: eventPort!, gatewayPorts, stop };
}

async function runAgainstStack(lineEnding: '\r\n' | '\n', layout: GatewayLayout = 'two-ports') {
  const { eventPort, gatewayPorts, stop } = await startStack(layout);
  try {
    const options: VerificationOptions = {
      eventHost: '127.0.0.1', eventPort, clientHost: '127.0.0.1', clientPorts: gatewayPorts,
      totalEvents: TOTAL_EVENTS, concurrencyLevel: 100, numberOfUsers: 1000, randomSeed: 666,
      timeoutMs: 20_000, maxEventSourceBatchSize: 100, lineEnding,
    };
    return await runVerification(options);
  } finally {
    await stop();
  }
}

for (const [name, lineEnding] of [['CRLF', '\r\n'], ['LF', '\n']] as const) {
  test(`${TOTAL_EVENTS} events to 100 clients over 2 gateways, ${name} line endings`, async () => {
    const report = await runAgainstStack(lineEnding);
    assert.deepEqual(report.failures, []);
    assert.equal(report.ok, true);
    assert.equal(report.eventsSent, TOTAL_EVENTS);
    assert.equal(report.notificationsReceived, report.notificationsExpected);
    // The run must deliver something to check: with seed 666 it expects about 69,000 notifications.
    assert.ok(report.notificationsExpected > 50_000, `only ${report.notificationsExpected} notifications expected`);
  });
}

test('GATEWAYS=2: two cluster workers behind one client port', async () => {
  const report = await runAgainstStack('\r\n', 'cluster');
  assert.deepEqual(report.failures, []);
  assert.equal(report.ok, true);
});

test('GATEWAYS=2 with GATEWAY_ALLOW_HALF_OPEN: a client that shuts down its sending side after its id line still receives', async () => {
  const { prefix, eventPort, gatewayPorts, stop } = await startStack('cluster', { GATEWAY_ALLOW_HALF_OPEN: 'true' });
  try {
    // Behind the cluster primary, the connection must still be served with the worker's own server options.
    const [client] = await connectClients(redis, prefix, [[7, gatewayPorts[0]!]]);
    await client!.end();
    await sendEvents(eventPort, ['1|B']);
    await eventually(() => assert.equal(client!.received, '1|B\r\n'));
    assert.equal(client!.closed, false);
    client!.destroy();
  } finally {
    await stop();
  }
});
