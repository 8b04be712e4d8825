import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { EVENT_LINES_FIELD, keysFor, splitEventLines } from '@follower-maze/shared';
import { startIngestService } from '../src/ingest-service.ts';
import { deletePrefix, eventually, silentLogger, testConfig, testRedis, uniquePrefix } from '../../../test/support/redis-fixture.ts';
import { TcpPeer } from '../../../test/support/tcp-peer.ts';

const redis = testRedis();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
after(() => redis.disconnect());

async function start(name: string, env: NodeJS.ProcessEnv = {}) {
  const prefix = uniquePrefix(name);
  const service = await startIngestService(testConfig(prefix, env), silentLogger);
  cleanups.push(async () => {
    await service.close();
    await deletePrefix(redis, prefix);
  });
  return { service, keys: keysFor(prefix) };
}

async function streamLines(stream: string): Promise<string[]> {
  const entries = await redis.xrange(stream, '-', '+');
  return entries.flatMap(([, fields]) => splitEventLines(fields[fields.indexOf(EVENT_LINES_FIELD) + 1]!));
}

test('appends valid lines untouched, in arrival order, many per entry', async () => {
  const { service, keys } = await start('ingest-order');
  const source = await TcpPeer.open(service.port);
  await source.write('3|S|7\r\n1|F|7|8\n2|');
  await source.write('B\r\n4|P|1|2\r');
  await source.write('\n');
  await source.end();
  const lines = await eventually(async () => {
    const got = await streamLines(keys.events);
    assert.equal(got.length, 4);
    return got;
  });
  assert.deepEqual(lines, ['3|S|7', '1|F|7|8', '2|B', '4|P|1|2']);
  assert.ok((await redis.xlen(keys.events)) < 4, 'lines are batched into entries');
  assert.deepEqual(await redis.xinfo('GROUPS', keys.events).then((g) => (g as unknown[][]).length), 1, 'the sequencer group exists');
});

test('rejects malformed, oversized and unterminated lines with a logged, stored reason and keeps the rest', async () => {
  const { service, keys } = await start('ingest-reject', { INGEST_MAX_LINE_BYTES: '32' });
  const source = await TcpPeer.open(service.port);
  await source.write(`1|B\r\nnot an event\r\n2|X|1\r\n${'9'.repeat(100)}\r\n\r\n2|B\r\n3|S|`);
  await source.end();
  await eventually(async () => assert.deepEqual(await streamLines(keys.events), ['1|B', '2|B']));
  const rejected = await eventually(async () => {
    const stored = (await redis.lrange(keys.rejected, 0, -1)).map((entry) => JSON.parse(entry) as { reason: string; input: string });
    assert.equal(stored.length, 4);
    return stored;
  });
  assert.deepEqual(rejected.map((r) => r.input).sort(), ['101 bytes', '2|X|1', '3|S|', 'not an event'].sort());
  assert.ok(rejected.every((r) => r.reason.startsWith('event source: ')), 'reasons name the event source');
  const { counters } = service.ingest;
  assert.deepEqual(
    [counters.get('malformedEvents'), counters.get('oversizedLines'), counters.get('unterminatedLines')], [2, 1, 1],
    'counted by reason: malformed, oversized, unterminated',
  );
});

test('stops reading the source while the sequencer is behind, and goes on when it catches up', async () => {
  const { service, keys } = await start('ingest-backpressure', { INGEST_MAX_UNREAD_ENTRIES: '3', INGEST_MAX_EVENTS_PER_ENTRY: '1000' });
  const source = await TcpPeer.open(service.port);
  const total = 200_000;
  const text = Array.from({ length: total }, (_, i) => `${i + 1}|B\r\n`).join('');
  void source.write(text);
  await eventually(() => assert.ok(service.ingest.counters.get('pauses') > 0, 'the source was paused'));
  await new Promise((resolve) => setTimeout(resolve, 200));
  const held = await redis.xlen(keys.events);
  // One socket read (64 KiB, about 7,000 events here) is appended whole before the pause takes effect.
  assert.ok(held <= 3 + 10, `stream holds ${held} unread entries while paused`);
  assert.ok(service.ingest.eventsAppended < total / 4, 'most of the source is still unread');
  // Play the sequencer: read everything, repeatedly, until all events are in.
  await eventually(async () => {
    await redis.xreadgroup('GROUP', keys.sequencerGroup, 'test', 'COUNT', 1000, 'STREAMS', keys.events, '>');
    assert.equal(service.ingest.eventsAppended, total);
  }, 20_000, 5);
  assert.equal((await streamLines(keys.events)).length, total);
  source.destroy();
});
