import { test } from 'node:test';
import assert from 'node:assert/strict';
import { benchOptionsFromEnv } from '../src/bench-options.ts';

test('defaults: 1 M and 10 M events, 2 gateways, 100 clients, no crowd, one Redis', () => {
  const options = benchOptionsFromEnv({});
  assert.deepEqual(options.runSizes, [1_000_000, 10_000_000]);
  assert.deepEqual(options.gatewayCounts, [2]);
  assert.equal(options.clients, 100);
  assert.equal(options.extraUsers, 0);
});

test('BENCH_GATEWAYS takes a list: every count is run with every size', () => {
  const options = benchOptionsFromEnv({ BENCH_EVENTS: '1000000', BENCH_GATEWAYS: '1, 2,4', BENCH_CLIENTS: '2000' });
  assert.deepEqual(options.gatewayCounts, [1, 2, 4]);
  assert.deepEqual(options.runSizes, [1_000_000]);
  assert.equal(options.clients, 2000);
});

test('a bad count names the variable and a valid example', () => {
  assert.throws(() => benchOptionsFromEnv({ BENCH_GATEWAYS: '0' }), /BENCH_GATEWAYS="0": expected positive integers, e\.g\. BENCH_GATEWAYS=1,2,4/);
  assert.throws(() => benchOptionsFromEnv({ BENCH_EVENTS: '1e6,x' }), /BENCH_EVENTS=.*e\.g\. BENCH_EVENTS=1000000,10000000/);
  assert.throws(() => benchOptionsFromEnv({ BENCH_CLIENTS: '0' }), /BENCH_CLIENTS/);
});

test('BENCH_REDIS_CLUSTER: one Redis by default; a list puts one Redis and clusters side by side', () => {
  assert.deepEqual(benchOptionsFromEnv({}).redisShapes, [0]);
  assert.deepEqual(benchOptionsFromEnv({ BENCH_REDIS_CLUSTER: '0, 3' }).redisShapes, [0, 3]);
  assert.throws(() => benchOptionsFromEnv({ BENCH_REDIS_CLUSTER: '2' }), /BENCH_REDIS_CLUSTER="2": .*at least 3, e\.g\. BENCH_REDIS_CLUSTER=0,3/);
});
