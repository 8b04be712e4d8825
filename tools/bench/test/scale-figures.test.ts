import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  arrivalFigures, bytesPerConnection, clientsOfBusiestGateway, GATEWAY_DESCRIPTOR_RESERVE, gatewayMaxClients, range, ratePerSecond,
} from '../src/scale-figures.ts';

test('memory per connection is the growth from idle to loaded over the connections; none without connections', () => {
  assert.equal(bytesPerConnection(80 * 1024 * 1024, 80 * 1024 * 1024 + 14_286 * 8192, 14_286), 8192);
  assert.equal(bytesPerConnection(100, 50, 10), -5);
  assert.equal(bytesPerConnection(100, 200, 0), undefined);
});

test('a rate is per second of the span, undefined for an empty one', () => {
  assert.equal(ratePerSecond(100_000, 1_000, 11_000), 10_000);
  assert.equal(ratePerSecond(10, 5, 5), undefined);
});

test('arrival figures are ms after sending: first, median and 99th percentile by nearest rank, last', () => {
  const sentAtMs = 1_700_000_000_000.5;
  const arrivals = Array.from({ length: 100 }, (_, index) => sentAtMs + 100 - index); // 100 down to 1 ms, unsorted
  const figures = arrivalFigures(sentAtMs, arrivals)!;
  assert.equal(figures.count, 100);
  assert.equal(figures.firstMs, 1);
  assert.equal(figures.p50Ms, 50);
  assert.equal(figures.p99Ms, 99);
  assert.equal(figures.lastMs, 100);
  assert.deepEqual(arrivalFigures(0, [7]), { count: 1, firstMs: 7, p50Ms: 7, p99Ms: 7, lastMs: 7 });
  assert.equal(arrivalFigures(0, []), undefined);
});

test('a range leaves out unknown figures', () => {
  assert.deepEqual(range([3, undefined, 1, 2]), { min: 1, max: 3 });
  assert.equal(range([undefined]), undefined);
});

test('the busiest gateway holds the rounded-up share', () => {
  assert.equal(clientsOfBusiestGateway(100_000, 7), 14_286);
  assert.equal(clientsOfBusiestGateway(100_000, 6), 16_667);
  assert.equal(clientsOfBusiestGateway(2_000, 2), 1_000);
});

test('GATEWAY_MAX_CLIENTS stays at the default while the share fits, is raised to the share past it, and a share past the descriptor limit is refused', () => {
  assert.equal(gatewayMaxClients(100_000, 7, 15_000, 20_000, 'BENCH_SCALE_GATEWAYS'), 15_000);
  assert.equal(gatewayMaxClients(100_000, 6, 15_000, 20_000, 'BENCH_SCALE_GATEWAYS'), 16_667);
  assert.equal(gatewayMaxClients(100_000, 6, 15_000, 16_667 + GATEWAY_DESCRIPTOR_RESERVE, 'BENCH_SCALE_GATEWAYS'), 16_667);
  assert.throws(() => gatewayMaxClients(100_000, 5, 15_000, 20_000, 'BENCH_SCALE_GATEWAYS'), /20000 on one.*use at least 6 gateways, e\.g\. BENCH_SCALE_GATEWAYS=6/);
});
