import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scaleOptionsFromEnv } from '../src/scale-options.ts';

test('defaults: 100,000 clients over 7 gateways, 3 broadcasts, one run, 10,000 clients per crowd process', () => {
  assert.deepEqual(scaleOptionsFromEnv({}), {
    runs: 1, clients: 100_000, gateways: 7, broadcasts: 3, settleMs: 2000, timeoutMs: 120_000, clientsPerWorker: 10_000,
    connectsInFlight: 100, connectWindow: 2000, profile: undefined,
  });
});

test('each setting is read from its variable', () => {
  const options = scaleOptionsFromEnv({
    BENCH_SCALE_RUNS: '2', BENCH_SCALE_CLIENTS: '2000', BENCH_SCALE_GATEWAYS: '2', BENCH_SCALE_BROADCASTS: '1', BENCH_SCALE_SETTLE_MS: '0',
    BENCH_SCALE_TIMEOUT_MS: '5000', BENCH_SCALE_CLIENTS_PER_WORKER: '1000', BENCH_SCALE_CONNECTS_IN_FLIGHT: '50', BENCH_SCALE_CONNECT_WINDOW: '0', BENCH_PROFILE: 'gateway',
  });
  assert.deepEqual(options, {
    runs: 2, clients: 2000, gateways: 2, broadcasts: 1, settleMs: 0, timeoutMs: 5000, clientsPerWorker: 1000, connectsInFlight: 50, connectWindow: 0, profile: 'gateway',
  });
});

test('a bad value names the variable and a valid example', () => {
  assert.throws(() => scaleOptionsFromEnv({ BENCH_SCALE_GATEWAYS: '0' }), /BENCH_SCALE_GATEWAYS=0: at least 1 is needed, e\.g\. BENCH_SCALE_GATEWAYS=6/);
  assert.throws(() => scaleOptionsFromEnv({ BENCH_SCALE_CLIENTS: 'many' }), /BENCH_SCALE_CLIENTS/);
  assert.throws(() => scaleOptionsFromEnv({ BENCH_PROFILE: 'redis' }), /BENCH_PROFILE/);
});
