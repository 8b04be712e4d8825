import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { EVENT_LINES_FIELD, keySlot, keysFor, loadConfig, seedNode, splitEventLines, type Keys } from '@follower-maze/shared';
import { startIngestService, type IngestService } from '../src/ingest-service.ts';
import { RedisCluster } from '../../../tools/stack/src/redis-cluster.ts';
import { eventually, silentLogger, uniquePrefix } from '../../../test/support/redis-fixture.ts';
import { TcpPeer } from '../../../test/support/tcp-peer.ts';

/** Three masters with a replica each: a WAIT for one replica is met, one for two is not. */
let redisCluster: RedisCluster;
let dataDir: string;
let cluster: Cluster;
const cleanups: (() => Promise<void>)[] = [];

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'fm-ingest-cluster-'));
  redisCluster = await RedisCluster.start({ masters: 3, replicasPerMaster: 1, dataDir });
  cluster = new Cluster(redisCluster.seedUrls.map(seedNode), { redisOptions: { maxRetriesPerRequest: 1 } });
  await cluster.ping();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
after(async () => {
  cluster.disconnect();
  await redisCluster.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function start(name: string, env: NodeJS.ProcessEnv): Promise<{ service: IngestService; keys: Keys }> {
  const prefix = uniquePrefix(name);
  const keys = keysFor(prefix, true);
  await replicaOfStreamMasterSynchronized(keys);
  const service = await startIngestService(loadConfig({
    REDIS_CLUSTER_NODES: redisCluster.seedUrls.join(','), KEY_PREFIX: prefix, LISTEN_HOST: '127.0.0.1', EVENT_PORT: '0',
    METRICS_PORT: '0', LOG_LEVEL: 'silent', METRICS_INTERVAL_MS: '600000', INGEST_MAX_UNREAD_ENTRIES: '1000000', ...env,
  }, []), silentLogger);
  cleanups.push(() => service.close());
  return { service, keys };
}

/** A connection to the master of the stream's slot. */
function streamMaster(keys: Keys): Redis {
  const master = cluster.slots[keySlot(keys.events)]![0]!;
  const node = new Redis({ host: master.slice(0, master.lastIndexOf(':')), port: Number(master.slice(master.lastIndexOf(':') + 1)) });
  cleanups.push(async () => node.disconnect());
  return node;
}

/** A replica counts for WAIT once it has synchronized with its master, a few seconds after the cluster is made. */
async function replicaOfStreamMasterSynchronized(keys: Keys): Promise<void> {
  const master = streamMaster(keys);
  await eventually(async () => assert.equal(await master.wait(1, 100), 1, 'the stream\'s master has a synchronized replica'), 30_000, 200);
}

/** A read-only connection to the replica of the stream's master, as the master's ROLE lists it. */
async function replicaOf(keys: Keys): Promise<Redis> {
  const [, , replicas] = (await streamMaster(keys).role()) as [string, number, [string, string, string][]];
  const [host, port] = replicas[0]!;
  const replica = new Redis({ host, port: Number(port), maxRetriesPerRequest: 1 });
  cleanups.push(async () => replica.disconnect());
  await replica.readonly();
  return replica;
}

async function streamLines(keys: Keys): Promise<string[]> {
  const entries = await cluster.xrange(keys.events, '-', '+');
  return entries.flatMap(([, fields]) => splitEventLines(fields[fields.indexOf(EVENT_LINES_FIELD) + 1]!));
}

const EVENTS = 10_000;
const source = Array.from({ length: EVENTS }, (_, index) => `${index + 1}|B\r\n`).join('');

test('on a cluster with REDIS_WAIT_REPLICAS=1 every append is taken by the replica before it counts as done', async () => {
  const { service, keys } = await start('ingest-cluster-wait', { REDIS_WAIT_REPLICAS: '1' });
  assert.equal(keySlot(keys.events), keySlot(keys.position), 'the stream is in the prefix\'s slot');
  const peer = await TcpPeer.open(service.port);
  await peer.write(source);
  await peer.end();
  await eventually(() => assert.equal(service.ingest.eventsAppended, EVENTS), 10_000);
  // Counted as appended only once the replica had them: it holds every one already.
  const replica = await replicaOf(keys);
  assert.equal((await replica.xrange(keys.events, '-', '+')).flatMap(([, fields]) => splitEventLines(fields[1]!)).length, EVENTS);
  assert.equal((await streamLines(keys)).length, EVENTS);
  assert.equal(service.ingest.counters.get('waitsShort'), 0, 'every WAIT saw its replica');
});

test('with REDIS_WAIT_REPLICAS above the replicas there are, each WAIT falls short: counted, and the events go on into the stream', async () => {
  const { service, keys } = await start('ingest-cluster-wait-short', { REDIS_WAIT_REPLICAS: '2', REDIS_WAIT_TIMEOUT_MS: '20' });
  const peer = await TcpPeer.open(service.port);
  await peer.write(source);
  await peer.end();
  await eventually(() => assert.equal(service.ingest.eventsAppended, EVENTS), 10_000);
  assert.deepEqual(await streamLines(keys), source.trimEnd().split('\r\n'));
  const short = service.ingest.counters.get('waitsShort');
  const entries = await cluster.xlen(keys.events);
  assert.ok(short > 0 && short <= entries, `${short} WAITs fell short, for ${entries} entries: one per group of appends at most`);
});
