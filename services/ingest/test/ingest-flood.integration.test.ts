import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { EVENT_LINES_FIELD, keysFor, splitEventLines } from '@follower-maze/shared';
import { startIngestService } from '../src/ingest-service.ts';
import { deletePrefix, eventually, silentLogger, testConfig, testRedis, uniquePrefix } from '../../../test/support/redis-fixture.ts';
import { TcpPeer } from '../../../test/support/tcp-peer.ts';

/**
 * A source that sends nothing but garbage, millions of lines: the ingest (sender included,
 * since both run in this process) stays small, keeps the newest rejections for operators,
 * counts every one, and still takes the valid events that follow.
 */
const redis = testRedis();
after(() => redis.disconnect());

const GARBAGE_LINES = 5_000_000;
const LINES_PER_WRITE = 20_000;
const KEPT_REJECTIONS = 10_000;
const MAX_RSS_BYTES = 250 * 1024 * 1024;
const RSS_SAMPLE_MS = 20;

function garbage(from: number, to: number): string {
  let text = '';
  for (let i = from; i <= to; i++) text += `garbage ${i}\r\n`;
  return text;
}

test(`${GARBAGE_LINES} garbage lines: bounded memory, the newest ${KEPT_REJECTIONS} kept, every one counted, valid events after still appended`, async (t) => {
  const prefix = uniquePrefix('ingest-flood');
  const keys = keysFor(prefix);
  const service = await startIngestService(testConfig(prefix), silentLogger);
  const startRss = process.memoryUsage().rss;
  let peakRss = startRss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), RSS_SAMPLE_MS);
  const startedAt = Date.now();
  try {
    const source = await TcpPeer.open(service.port);
    for (let from = 1; from <= GARBAGE_LINES; from += LINES_PER_WRITE) {
      await source.write(garbage(from, Math.min(from + LINES_PER_WRITE - 1, GARBAGE_LINES)));
    }
    await source.write('1|B\r\n2|S|7\r\n3|F|1|2\r\n');
    await source.end();
    await eventually(() => assert.equal(service.ingest.counters.get('malformedEvents'), GARBAGE_LINES), 30_000);
    await eventually(() => assert.equal(service.ingest.eventsAppended, 3));
    const entries = await redis.xrange(keys.events, '-', '+');
    assert.deepEqual(entries.flatMap(([, fields]) => splitEventLines(fields[fields.indexOf(EVENT_LINES_FIELD) + 1]!)), ['1|B', '2|S|7', '3|F|1|2']);

    const inputs = await eventually(async () => {
      const stored = (await redis.lrange(keys.rejected, 0, -1)).map((entry) => (JSON.parse(entry) as { input: string }).input);
      assert.equal(stored[0], `garbage ${GARBAGE_LINES}`, 'the newest rejection is stored');
      return stored;
    });
    assert.equal(inputs.length, KEPT_REJECTIONS);
    assert.ok(inputs.every((input, at) => input === `garbage ${GARBAGE_LINES - at}`), `exactly the newest ${KEPT_REJECTIONS}, newest first`);
    assert.equal(service.ingest.counters.get('eventsAccepted'), 3);
  } finally {
    clearInterval(sampler);
    await service.close();
    await deletePrefix(redis, prefix);
  }
  const seconds = (Date.now() - startedAt) / 1000;
  const mib = (bytes: number) => Math.round(bytes / 1024 / 1024);
  const peakMiB = mib(peakRss);
  t.diagnostic(`${GARBAGE_LINES} garbage lines in ${seconds.toFixed(1)} s; RSS ${mib(startRss)} MiB before, ${peakMiB} MiB at peak (limit ${mib(MAX_RSS_BYTES)} MiB)`);
  assert.ok(peakRss < MAX_RSS_BYTES, `peak RSS ${peakMiB} MiB`);
});
