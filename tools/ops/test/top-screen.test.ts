import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderTopScreen, type TopReading, type TopView } from '../src/top-screen.ts';
import type { GatewaySample, TopSample } from '../src/top-sample.ts';

/** 2026-11-29T21:01:03.000Z on Redis's clock. */
const T0 = Date.UTC(2026, 10, 29, 21, 1, 3);
const MIB = 1024 * 1024;
const PLAIN: TopView = { keyPrefix: 'fm', redisHost: '127.0.0.1:6390', interactive: false };

function gateway(id: string, heartbeatAtMs: number, load?: { clients: number; unsentBytes: number; notificationsWritten: number }): GatewaySample {
  return { id, heartbeatAtMs, load: load && { atMs: heartbeatAtMs, ...load } };
}

function sample(overrides: Partial<TopSample> = {}): TopSample {
  return {
    atMs: T0,
    position: { nextSeq: 1_000_001, batchSeq: 8262, epoch: 1, term: 7 },
    lease: { holder: 'vm-4242', ttlMs: 1234 },
    stream: { entries: 3, unreadEntries: 2, pendingEntries: 1, newestSeq: 1_004_000 },
    waits: [],
    gateways: [],
    redisMemory: [{ usedBytes: 40 * MIB, peakBytes: 52 * MIB, maxBytes: 0 }],
    ...overrides,
  };
}

const ok = (taken: TopSample): TopReading => ({ ok: true, sample: taken });

test('a busy stack: rates over the second between two samples, waits, and each gateway', () => {
  const before = sample({
    position: { nextSeq: 880_001, batchSeq: 8000, epoch: 1, term: 7 },
    stream: { entries: 5, unreadEntries: 3, pendingEntries: 2, newestSeq: 900_000 },
    gateways: [
      gateway('vm-4250-1a2b3c', T0 - 1300, { clients: 60, unsentBytes: 0, notificationsWritten: 100_000 }),
      gateway('vm-4251-4d5e6f', T0 - 1100, { clients: 40, unsentBytes: 0, notificationsWritten: 50_000 }),
    ],
  });
  const now = sample({
    atMs: T0 + 1000,
    waits: [
      { process: 'sequencer-vm-4242', what: 'event 1000001 (2113 later events held)', since: '2026-11-29T21:00:23.000Z', forMs: 40_400 },
      { process: 'sequencer-vm-4243', what: 'the lease (standing by)', since: '2026-11-29T20:59:03.000Z', forMs: 120_000 },
    ],
    gateways: [
      // 300,000 notifications over the 1.2 s between its two heartbeats.
      gateway('vm-4250-1a2b3c', T0 - 100, { clients: 61, unsentBytes: 1.5 * MIB, notificationsWritten: 400_000 }),
      gateway('vm-4251-4d5e6f', T0 + 900, { clients: 40, unsentBytes: 512, notificationsWritten: 250_000 }),
      // Silent for longer than its load lives: listed until the sequencer forgets it, without figures.
      gateway('vm-4252-0f0f0f', T0 - 3500),
    ],
    redisMemory: [{ usedBytes: 38.25 * MIB, peakBytes: 52 * MIB, maxBytes: 2048 * MIB }],
  });
  assert.equal(renderTopScreen(ok(now), [ok(before)], PLAIN), [
    'follower-maze top  21:01:04 UTC  fm on 127.0.0.1:6390',
    'events     in 104,000/s  applied 120,000/s  next 1,000,001',
    'stream     lag 4,000 events  entries 3 (2 unread, 1 pending)',
    'sequencer  vm-4242 leads (lease 1.2 s left)  term 7  epoch 1  batch 8,262',
    'gateways   3  clients 101  unsent 1.5 MiB  notifications 350,000/s',
    'redis      used 38.3 MiB  peak 52.0 MiB  maxmemory 2.0 GiB',
    'waiting    sequencer-vm-4242: event 1000001 (2113 later events held), 40 s',
    '           sequencer-vm-4243: the lease (standing by), 120 s',
    '',
    'gateway         clients      unsent  notifications/s  heartbeat',
    'vm-4250-1a2b3c       61     1.5 MiB        250,000/s  1.1 s ago',
    'vm-4251-4d5e6f       40       512 B        100,000/s  0.1 s ago',
    'vm-4252-0f0f0f        -           -                -  4.5 s ago',
  ].join('\n'));
});

test('the first sample has no rates; nothing leads, no gateway, nothing waits', () => {
  const first = sample({
    position: { nextSeq: 1, batchSeq: 0, epoch: 0, term: 0 },
    lease: undefined,
    stream: { entries: 0, unreadEntries: 0, pendingEntries: 0, newestSeq: undefined },
  });
  assert.equal(renderTopScreen(ok(first), [], { ...PLAIN, interactive: true }), [
    'follower-maze top  21:01:03 UTC  q quits  fm on 127.0.0.1:6390',
    'events     in -  applied -  next 1',
    'stream     lag 0 events  entries 0 (0 unread, 0 pending)',
    'sequencer  none leads (the lease is free)  term 0  epoch 0  batch 0',
    'gateways   0  clients 0  unsent 0 B  notifications -',
    'redis      used 40.0 MiB  peak 52.0 MiB  maxmemory none',
    'waiting    nothing',
  ].join('\n'));
});

test('on a Redis Cluster: one memory line per master, named by its address', () => {
  const masters = [6390, 6391, 6392].map((port, index) => ({ node: `127.0.0.1:${port}`, usedBytes: (index + 1) * MIB, peakBytes: 52 * MIB, maxBytes: 0 }));
  const lines = renderTopScreen(ok(sample({ redisMemory: masters })), [], { ...PLAIN, redisHost: 'cluster 127.0.0.1:6390 +2' }).split('\n');
  assert.equal(lines[0], 'follower-maze top  21:01:03 UTC  fm on cluster 127.0.0.1:6390 +2');
  assert.deepEqual(lines.slice(5, 8), [
    'redis      127.0.0.1:6390  used 1.0 MiB  peak 52.0 MiB  maxmemory none',
    '           127.0.0.1:6391  used 2.0 MiB  peak 52.0 MiB  maxmemory none',
    '           127.0.0.1:6392  used 3.0 MiB  peak 52.0 MiB  maxmemory none',
  ]);
});

test('Redis unreachable: says why, and shows no figures that could be stale', () => {
  const down: TopReading = { ok: false, atMs: T0 + 5000, error: 'connect ECONNREFUSED 127.0.0.1:6390' };
  assert.equal(renderTopScreen(down, [ok(sample())], PLAIN), [
    'follower-maze top  21:01:08 UTC  fm on 127.0.0.1:6390',
    'Redis unreachable: connect ECONNREFUSED 127.0.0.1:6390',
  ].join('\n'));
});

test('rates go on across a failed sample, from the last one that was read', () => {
  const before = sample({ position: { nextSeq: 1, batchSeq: 0, epoch: 1, term: 7 }, stream: { ...sample().stream, newestSeq: 0 } });
  const now = sample({ atMs: T0 + 2000, stream: { ...sample().stream, newestSeq: 1_000_000 } });
  const down: TopReading = { ok: false, atMs: T0 + 1000, error: 'Command timed out' };
  assert.match(renderTopScreen(ok(now), [ok(before), down], PLAIN), /^events {5}in 500,000\/s {2}applied 500,000\/s {2}next 1,000,001$/m);
});

test('no rate across a reset (new epoch) or a count that fell', () => {
  const before = sample();
  const reset = sample({ atMs: T0 + 1000, position: { nextSeq: 11, batchSeq: 1, epoch: 2, term: 7 } });
  assert.match(renderTopScreen(ok(reset), [ok(before)], PLAIN), /^events {5}in - {2}applied - {2}next 11$/m);
  const restarted = sample({
    atMs: T0 + 1000,
    gateways: [gateway('g1', T0 + 900, { clients: 1, unsentBytes: 0, notificationsWritten: 5 })],
  });
  const older = sample({ gateways: [gateway('g1', T0 - 100, { clients: 1, unsentBytes: 0, notificationsWritten: 90 })] });
  assert.match(renderTopScreen(ok(restarted), [ok(older)], PLAIN), /^g1 {6}\s+1 {9}0 B {16}- {2}0\.1 s ago$/m);
});

test("a gateway's rate comes from an older heartbeat when the previous sample holds the same one", () => {
  const load = (atMs: number, notificationsWritten: number) => [gateway('g1', atMs, { clients: 1, unsentBytes: 0, notificationsWritten })];
  const samples = [
    sample({ atMs: T0, gateways: load(T0 - 500, 1000) }),
    // Sampled again before the gateway's next heartbeat: the same stamp, no rate from it.
    sample({ atMs: T0 + 1000, gateways: load(T0 + 1500, 4000) }),
    sample({ atMs: T0 + 2000, gateways: load(T0 + 1500, 4000) }),
  ];
  const screen = renderTopScreen(ok(samples[2]!), samples.slice(0, 2).map(ok), PLAIN);
  assert.match(screen, /notifications 1,500\/s$/m);
  assert.match(screen, /^g1 .* 1,500\/s {2}0\.5 s ago$/m);
  assert.match(renderTopScreen(ok(samples[2]!), [ok(samples[1]!)], PLAIN), /notifications -$/m, 'no older heartbeat kept: unknown');
});

test('a narrow, short terminal: lines cut to its width, and a last line saying how many more there are', () => {
  const busy = sample({ gateways: Array.from({ length: 10 }, (_, index) => gateway(`gateway-${index}`, T0 - 200)) });
  const screen = renderTopScreen(ok(busy), [], { ...PLAIN, interactive: true, size: { columns: 30, rows: 10 } }).split('\n');
  assert.deepEqual(screen, [
    'follower-maze top  21:01:03 UT',
    'events     in -  applied -  ne',
    'stream     lag 4,000 events  e',
    'sequencer  vm-4242 leads (leas',
    'gateways   10  clients 0  unse',
    'redis      used 40.0 MiB  peak',
    'waiting    nothing',
    '',
    'gateway    clients      unsent',
    '(10 more lines)',
  ]);
});
