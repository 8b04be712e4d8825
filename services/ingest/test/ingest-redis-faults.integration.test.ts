import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { EVENT_LINES_FIELD, keysFor, splitEventLines } from '@follower-maze/shared';
import { startIngestService, type IngestService } from '../src/ingest-service.ts';
import { deletePrefix, eventually, silentLogger, testConfig, uniquePrefix } from '../../../test/support/redis-fixture.ts';
import { PrivateRedis } from '../../../test/support/private-redis.ts';
import { TcpPeer } from '../../../test/support/tcp-peer.ts';

/**
 * The ingest against a Redis of its own that refuses writes or reports a wrong consumer
 * group `lag`: nothing accepted may be lost, reordered beyond a few entries, or held for ever.
 */
let server: PrivateRedis;
let redis: Redis;
let service: IngestService | undefined;
let prefix = '';

before(async () => {
  server = await PrivateRedis.start('ingest-faults');
  redis = server.redis;
});
afterEach(async () => {
  await redis.config('SET', 'maxmemory', '0');
  await service?.close();
  service = undefined;
  await deletePrefix(redis, prefix);
});
after(() => server.stop());

async function start(name: string, env: NodeJS.ProcessEnv = {}): Promise<IngestService> {
  prefix = uniquePrefix(name);
  service = await startIngestService(testConfig(prefix, { REDIS_URL: server.url, ...env }), silentLogger);
  return service;
}

async function streamSeqs(): Promise<number[]> {
  const entries = await redis.xrange(keysFor(prefix).events, '-', '+');
  return entries.flatMap(([, fields]) => splitEventLines(fields[fields.indexOf(EVENT_LINES_FIELD) + 1]!)).map((line) => Number(line.split('|')[0]));
}

/** Plays the sequencer: hands every entry to the group, as its reads do. */
async function readAll(): Promise<void> {
  const keys = keysFor(prefix);
  while ((await redis.xreadgroup('GROUP', keys.sequencerGroup, 'test', 'COUNT', 1000, 'STREAMS', keys.events, '>')) !== null);
}

test('writes refused with OOM for a while: the source is paused, and every event lands once, in order but for a few entries', async () => {
  const eventsPerEntry = 500;
  const maxAppendsInFlight = 4;
  const ingest = await start('ingest-oom', {
    INGEST_MAX_EVENTS_PER_ENTRY: String(eventsPerEntry), INGEST_MAX_APPENDS_IN_FLIGHT: String(maxAppendsInFlight),
    INGEST_MAX_UNREAD_ENTRIES: '1000000',
  });
  const source = await TcpPeer.open(ingest.port);
  const total = 300_000;
  const lines = Array.from({ length: total }, (_, i) => `${i + 1}|B\r\n`);
  const sending = (async () => {
    for (let at = 0; at < total; at += 10_000) {
      await source.write(lines.slice(at, at + 10_000).join(''));
      await sleep(5);
    }
  })();
  await eventually(() => assert.ok(ingest.ingest.eventsAppended > 20_000, 'appends are flowing'));
  await redis.config('SET', 'maxmemory-policy', 'noeviction');
  await redis.config('SET', 'maxmemory', '1');
  await eventually(() => assert.ok(ingest.ingest.counters.get('appendErrors') > 0, 'Redis refused appends'));
  const appendedWhileRefused = ingest.ingest.eventsAppended;
  await sleep(1000);
  assert.ok(ingest.ingest.eventsAppended - appendedWhileRefused <= maxAppendsInFlight * eventsPerEntry, 'nothing more lands while refused');
  assert.ok(ingest.ingest.counters.get('pauses') > 0, 'the source was paused');
  await redis.config('SET', 'maxmemory', '0');
  await sending;
  await eventually(() => assert.equal(ingest.ingest.eventsAppended, total), 20_000);
  const seqs = await streamSeqs();
  assert.equal(seqs.length, total, 'every event once');
  assert.deepEqual([...seqs].sort((a, b) => a - b), lines.map((_, i) => i + 1), 'every event, none doubled');
  const maxDisplacement = seqs.reduce((max, seq, index) => Math.max(max, Math.abs(seq - (index + 1))), 0);
  assert.ok(maxDisplacement <= maxAppendsInFlight * eventsPerEntry, `events moved by at most a few entries (moved ${maxDisplacement})`);
  source.destroy();
});

test('a consumer group whose lag Redis reports too high does not hold the source for ever', async () => {
  const ingest = await start('ingest-lag', { INGEST_MAX_UNREAD_ENTRIES: '3', INGEST_MAX_EVENTS_PER_ENTRY: '10' });
  const keys = keysFor(prefix);
  const source = await TcpPeer.open(ingest.port);
  await source.write(Array.from({ length: 300 }, (_, i) => `${i + 1}|B\r\n`).join(''));
  await eventually(() => assert.equal(ingest.ingest.eventsAppended, 300));
  await readAll();
  // What an AOF reload was seen to do: the group has read everything, but its read counter came back low.
  await redis.xgroup('SETID', keys.events, keys.sequencerGroup, '$', 'ENTRIESREAD', 0);
  const groups = (await redis.xinfo('GROUPS', keys.events)) as unknown[][];
  assert.ok(Number(groups[0]![groups[0]!.indexOf('lag') + 1]) > 3, 'Redis now reports a lag above the limit');
  const total = 20_000;
  const sending = source.write(Array.from({ length: total - 300 }, (_, i) => `${i + 301}|B\r\n`).join(''));
  await eventually(async () => {
    await readAll();
    assert.equal(ingest.ingest.eventsAppended, total);
  }, 10_000, 5);
  await sending;
  source.destroy();
});
