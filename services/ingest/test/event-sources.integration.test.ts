import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { EVENT_LINES_FIELD, keysFor, splitEventLines, type Logger } from '@follower-maze/shared';
import { startIngestService } from '../src/ingest-service.ts';
import { SOURCE_HANDOVER_MS } from '../src/source-gate.ts';
import { deletePrefix, eventually, testConfig, testRedis, uniquePrefix } from '../../../test/support/redis-fixture.ts';
import { TcpPeer } from '../../../test/support/tcp-peer.ts';

/** Who may be the event source: one connection at a time by default, probes never. */
const redis = testRedis();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
after(() => redis.disconnect());

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

const INFO = 30;
const WARN = 40;

async function start(name: string, env: NodeJS.ProcessEnv = {}) {
  const prefix = uniquePrefix(name);
  const logs: LogLine[] = [];
  const logger: Logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line) as LogLine) });
  const service = await startIngestService(testConfig(prefix, env), logger);
  const peers: TcpPeer[] = [];
  cleanups.push(async () => {
    for (const peer of peers) peer.destroy();
    await service.close();
    await deletePrefix(redis, prefix);
  });
  const open = async (from?: { host: string; localAddress: string }) => {
    const peer = await TcpPeer.open(service.port, undefined, from);
    peers.push(peer);
    return peer;
  };
  return { service, keys: keysFor(prefix), logs, open };
}

async function streamLines(stream: string): Promise<string[]> {
  const entries = await redis.xrange(stream, '-', '+');
  return entries.flatMap(([, fields]) => splitEventLines(fields[fields.indexOf(EVENT_LINES_FIELD) + 1]!));
}

function lines(from: number, to: number): string {
  return Array.from({ length: to - from + 1 }, (_, i) => `${from + i}|B\r\n`).join('');
}

test('a second source beside the first is refused, counted, logged and recorded with its address; the first goes on', async () => {
  const { service, keys, logs, open } = await start('ingest-second-source');
  const first = await open();
  await first.write('1|B\r\n');
  await eventually(async () => assert.deepEqual(await streamLines(keys.events), ['1|B']));
  const second = await open();
  const secondPort = second.socket.localPort;
  await second.write('1000|B\r\n');
  await eventually(() => assert.ok(second.closed, 'the second source is closed'), SOURCE_HANDOVER_MS + 2000);
  await first.write('2|B\r\n');
  await eventually(async () => assert.deepEqual(await streamLines(keys.events), ['1|B', '2|B']));
  assert.equal(service.ingest.counters.get('sourcesRefused'), 1);
  assert.equal(service.ingest.counters.get('sourcesConnected'), 1);
  const rejected = await eventually(async () => {
    const stored = (await redis.lrange(keys.rejected, 0, -1)).map((entry) => JSON.parse(entry) as { reason: string; input: string });
    assert.equal(stored.length, 1);
    return stored[0]!;
  });
  assert.equal(rejected.input, `127.0.0.1:${secondPort}`);
  assert.match(rejected.reason, /^event source: refused/);
  assert.equal(logs.filter((line) => line.level === WARN && line.msg.startsWith('event source refused')).length, 1);
  assert.equal(first.closed, false);
});

test('only addresses in EVENT_SOURCE_ALLOW may send events, IPv4 ones also as a server on :: sees them; others are closed before they send, counted, logged and recorded', async () => {
  const { service, keys, logs, open } = await start('ingest-allow', { LISTEN_HOST: '::', EVENT_SOURCE_ALLOW: '127.0.0.2, ::1', INGEST_MAX_SOURCES: '2' });
  const outsider = await open({ host: '127.0.0.1', localAddress: '127.0.0.1' });
  const outsiderPort = outsider.socket.localPort;
  await eventually(() => assert.ok(outsider.closed, 'a connection from 127.0.0.1 is closed without a byte sent'));
  const mapped = await open({ host: '127.0.0.1', localAddress: '127.0.0.2' });
  const ipv6 = await open({ host: '::1', localAddress: '::1' });
  await mapped.write('1|B\r\n');
  await eventually(async () => assert.deepEqual(await streamLines(keys.events), ['1|B']));
  await ipv6.write('2|B\r\n');
  await eventually(async () => assert.deepEqual(await streamLines(keys.events), ['1|B', '2|B']));
  assert.equal(service.ingest.counters.get('sourcesNotAllowed'), 1);
  assert.equal(service.ingest.counters.get('sourcesConnected'), 2);
  const rejected = await eventually(async () => {
    const stored = (await redis.lrange(keys.rejected, 0, -1)).map((entry) => JSON.parse(entry) as { reason: string; input: string });
    assert.equal(stored.length, 1);
    return stored[0]!;
  });
  assert.deepEqual(rejected, { ...rejected, reason: 'event source: refused, its address is not in EVENT_SOURCE_ALLOW', input: `::ffff:127.0.0.1:${outsiderPort}` });
  const warnings = logs.filter((line) => line.msg === 'event source refused: its address is not in EVENT_SOURCE_ALLOW');
  assert.deepEqual(warnings.map((line) => [line.level, line['remote'], line['allowed']]), [[WARN, `::ffff:127.0.0.1:${outsiderPort}`, '127.0.0.2,::1']]);
  assert.equal(mapped.closed || ipv6.closed, false);
});

test('refusals that come quickly are one warning line, every one counted', async () => {
  const { service, logs, open } = await start('ingest-refusals');
  const source = await open();
  await source.write('1|B\r\n');
  await eventually(() => assert.equal(service.ingest.counters.get('sourcesConnected'), 1));
  const others = await Promise.all(Array.from({ length: 5 }, () => open()));
  await Promise.all(others.map((peer) => peer.write('2|B\r\n')));
  await eventually(() => assert.ok(others.every((peer) => peer.closed), 'every other source is closed'), SOURCE_HANDOVER_MS + 2000);
  assert.equal(service.ingest.counters.get('sourcesRefused'), 5);
  assert.equal(logs.filter((line) => line.msg.startsWith('event source refused')).length, 1);
});

test('probes that send nothing are not sources: they neither take the slot nor are refused, and log at debug only', async () => {
  const { service, keys, logs, open } = await start('ingest-probes');
  const lingering = await open();
  for (let i = 0; i < 20; i++) (await open()).destroy();
  const source = await open();
  const sourcePort = source.socket.localPort;
  await source.write('1|B\r\n');
  for (let i = 0; i < 20; i++) (await open()).destroy();
  await source.write('2|B\r\n');
  await source.end();
  await eventually(async () => assert.deepEqual(await streamLines(keys.events), ['1|B', '2|B']));
  await eventually(() => assert.equal(service.ingest.counters.get('probes'), 40));
  assert.equal(service.ingest.counters.get('sourcesRefused'), 0);
  assert.equal(service.ingest.counters.get('sourcesConnected'), 1);
  assert.equal(lingering.closed, false, 'a silent connection is left alone');

  await eventually(() => assert.ok(logs.some((line) => line.msg === 'event source disconnected'), 'the source has ended'));
  const infos = logs.filter((line) => line.level >= INFO && line.msg !== 'ingest listening for the event source');
  assert.equal(infos.length, 1, 'one line for the source, none for probes');
  assert.equal(infos[0]!['eventsAccepted'], 2);
  assert.equal(infos[0]!['remote'], `127.0.0.1:${sourcePort}`);
  assert.equal(typeof infos[0]!['durationMs'], 'number');
  assert.equal(logs.filter((line) => line.msg.startsWith('probe connection closed')).length, 40);
});

test('a source that disconnects and reconnects at once continues, even while its last bytes wait behind back-pressure and the new one has already sent its last', async () => {
  const { service, keys, open } = await start('ingest-reconnect', { INGEST_MAX_UNREAD_ENTRIES: '1', INGEST_MAX_EVENTS_PER_ENTRY: '100' });
  const total = 100_000;
  const old = await open();
  void old.write(lines(1, total));
  void old.end();
  await eventually(() => assert.ok(service.ingest.counters.get('pauses') > 0, 'the old connection is paused, its end unread'));
  const again = await open();
  await again.write(lines(total + 1, total + 10));
  // Its last events sent, the new source shuts down its side while it still waits for the slot.
  await again.end();
  // Longer than the handover time: the clock stands still while sources are not read.
  await sleep(SOURCE_HANDOVER_MS + 500);
  assert.equal(again.closed, false, 'the new connection waits for the old one to end, its events kept');
  assert.ok(service.ingest.eventsAppended < total, 'the old connection is still unread');
  await eventually(async () => {
    await redis.xreadgroup('GROUP', keys.sequencerGroup, 'test', 'COUNT', 1000, 'STREAMS', keys.events, '>');
    assert.equal(service.ingest.eventsAppended, total + 10);
  }, 30_000, 5);
  const seqs = (await streamLines(keys.events)).map((line) => Number(line.split('|')[0]));
  assert.deepEqual(seqs, Array.from({ length: total + 10 }, (_, i) => i + 1), 'the old connection\'s events, then the new one\'s');
  assert.equal(service.ingest.counters.get('sourcesRefused'), 0);
  assert.equal(service.ingest.counters.get('sourcesConnected'), 2);
});

test('INGEST_MAX_SOURCES admits that many sources at once', async () => {
  const { service, keys, open } = await start('ingest-sharded', { INGEST_MAX_SOURCES: '2' });
  const [a, b] = await Promise.all([open(), open()]);
  await a!.write('1|B\r\n');
  await b!.write('2|B\r\n');
  await eventually(async () => assert.deepEqual((await streamLines(keys.events)).sort(), ['1|B', '2|B']));
  const third = await open();
  await third.write('3|B\r\n');
  await eventually(() => assert.ok(third.closed, 'the third is refused'), SOURCE_HANDOVER_MS + 2000);
  assert.equal(service.ingest.counters.get('sourcesConnected'), 2);
  assert.equal(service.ingest.counters.get('sourcesRefused'), 1);
});
