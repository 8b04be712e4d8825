import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LatencyHistogram } from '../src/latency-histogram.ts';

function assertNear(actual: number, expected: number): void {
  assert.ok(Math.abs(actual - expected) <= expected * 0.02, `${actual} is not within 2% of ${expected}`);
}

describe('LatencyHistogram', () => {
  it('reports percentiles within about 1%', () => {
    const histogram = new LatencyHistogram();
    for (let ms = 1; ms <= 1000; ms++) histogram.record(ms);
    assert.equal(histogram.samples, 1000);
    assertNear(histogram.percentileMs(0.5), 500);
    assertNear(histogram.percentileMs(0.99), 990);
  });

  it('reports 0 without samples', () => {
    assert.equal(new LatencyHistogram().percentileMs(0.99), 0);
  });
});
