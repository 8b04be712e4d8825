import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { pino } from 'pino';
import { Counters, logCountersEvery, ServiceMetrics } from '../src/metrics.ts';
import { testRedis } from '../../test/support/redis-fixture.ts';

function recordingLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

const SPECS = {
  accepted: { metric: 'fm_t_accepted_total', help: 'accepted' },
  malformed: { metric: 'fm_t_rejected_total', help: 'rejected, by reason', labels: { reason: 'malformed' } },
  oversized: { metric: 'fm_t_rejected_total', help: 'rejected, by reason', labels: { reason: 'oversized' } },
};

test('counters are logged only when they changed since the last line: an idle service says nothing', (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const { logger, lines } = recordingLogger();
  const counters = new Counters(new ServiceMetrics(), SPECS);
  const stop = logCountersEvery(counters, 1000, logger);
  t.after(stop);
  t.mock.timers.tick(3000);
  assert.equal(lines.length, 0, 'nothing counted yet: no line');
  counters.add('accepted', 5);
  t.mock.timers.tick(1000);
  assert.equal(lines.length, 1);
  assert.deepEqual(lines[0]!['counters'], { accepted: 5 });
  assert.ok(typeof (lines[0]!['eventLoopDelay'] as { maxMs: number }).maxMs === 'number', 'with the event-loop delay since the last line');
  t.mock.timers.tick(5000);
  assert.equal(lines.length, 1, 'unchanged: no line');
  counters.add('malformed');
  t.mock.timers.tick(1000);
  assert.equal(lines.length, 2);
  assert.deepEqual(lines[1]!['counters'], { accepted: 5, malformed: 1 }, 'totals, not differences');
});

test('each counter is exported under its metric from the start, at 0; counters sharing a metric differ by label', async () => {
  const metrics = new ServiceMetrics();
  const counters = new Counters(metrics, SPECS);
  const before = await metrics.exposition();
  assert.match(before, /^fm_t_accepted_total 0$/m);
  assert.match(before, /^fm_t_rejected_total\{reason="malformed"\} 0$/m);
  assert.match(before, /^fm_t_rejected_total\{reason="oversized"\} 0$/m);
  counters.add('accepted', 3);
  counters.add('oversized');
  counters.add('oversized');
  const after = await metrics.exposition();
  assert.match(after, /^fm_t_accepted_total 3$/m);
  assert.match(after, /^fm_t_rejected_total\{reason="oversized"\} 2$/m);
  assert.match(after, /^fm_t_rejected_total\{reason="malformed"\} 0$/m);
  assert.match(after, /^process_resident_memory_bytes \d+/m, "with Node's process metrics");
  assert.equal(counters.get('oversized'), 2);
});

test('a second set of counters on the same metrics (a sequencer\'s next term) counts into the same series, its own totals from 0', async () => {
  const metrics = new ServiceMetrics();
  const first = new Counters(metrics, SPECS);
  first.add('accepted', 7);
  const second = new Counters(metrics, SPECS);
  second.add('accepted', 2);
  assert.equal(second.get('accepted'), 2);
  assert.deepEqual(second.snapshot(), { accepted: 2 });
  assert.match(await metrics.exposition(), /^fm_t_accepted_total 9$/m);
});

test('a Redis connection\'s reconnections are counted under its role, its first connection not', async () => {
  const metrics = new ServiceMetrics();
  const redis = testRedis();
  try {
    metrics.watchRedis(redis, 'probe');
    if (redis.status !== 'ready') await once(redis, 'ready');
    assert.match(await metrics.exposition(), /^fm_redis_reconnects_total\{connection="probe"\} 0$/m);
    redis.disconnect(true);
    await once(redis, 'ready');
    assert.match(await metrics.exposition(), /^fm_redis_reconnects_total\{connection="probe"\} 1$/m);
  } finally {
    redis.disconnect();
  }
});
