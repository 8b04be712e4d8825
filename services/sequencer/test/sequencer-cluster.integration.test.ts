import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import {
  clusterShards, decodeBatchMarker, decodeLoggedBatch, decodeLoggedDeliveries, encodeGatewayEvent, EVENT_LINES_FIELD, keySlot, keysFor, loadConfig, seedNode,
  type Keys, type Shard,
} from '@follower-maze/shared';
import { loggedDelivery } from '../src/core/publication.ts';
import { LeaderLease } from '../src/leader-lease.ts';
import { resetSequence } from '../src/reset-script.ts';
import { startSequencerService, type SequencerService } from '../src/sequencer-service.ts';
import { ShardedPublisher } from '../src/sharded-publisher.ts';
import { RedisCluster } from '../../../tools/stack/src/redis-cluster.ts';
import { eventually, silentLogger, uniquePrefix } from '../../../test/support/redis-fixture.ts';

let redisCluster: RedisCluster;
let dataDir: string;
/** The test's own view of the cluster: sets up presence, appends events, reads what the sequencer wrote. */
let cluster: Cluster;
const cleanups: (() => Promise<void>)[] = [];
const services = new Set<SequencerService>();

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'fm-sequencer-cluster-'));
  // A replica per master, for the failover at the end.
  redisCluster = await RedisCluster.start({ masters: 3, replicasPerMaster: 1, dataDir });
  cluster = new Cluster(redisCluster.seedUrls.map(seedNode), { redisOptions: { maxRetriesPerRequest: 1 } });
  await cluster.ping();
});
afterEach(async () => {
  for (const service of services) await stop(service);
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
after(async () => {
  cluster.disconnect();
  await redisCluster.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

function clusterKeys(name: string): { prefix: string; keys: Keys } {
  const prefix = uniquePrefix(name);
  return { prefix, keys: keysFor(prefix, true) };
}

async function start(prefix: string, env: NodeJS.ProcessEnv = {}): Promise<SequencerService> {
  const config = loadConfig({
    REDIS_CLUSTER_NODES: redisCluster.seedUrls.join(','), KEY_PREFIX: prefix, LISTEN_HOST: '127.0.0.1', METRICS_PORT: '0',
    LOG_LEVEL: 'silent', METRICS_INTERVAL_MS: '600000', SEQUENCER_GATEWAY_TTL_MS: '600000', ...env,
  }, []);
  const service = await startSequencerService(config, silentLogger);
  services.add(service);
  await eventually(() => assert.ok(service.active, 'the only sequencer becomes active'), 10_000);
  return service;
}

async function stop(service: SequencerService): Promise<void> {
  services.delete(service);
  await service.close();
}

/** A gateway holding the users, as the sequencer's snapshot of presence reads it. */
async function gatewayHolding(keys: Keys, users: number[]): Promise<void> {
  await cluster.hset(keys.gateways, 'g1', Date.now());
  await cluster.sadd(keys.presence('g1'), ...users);
}

function append(keys: Keys, lines: string[]): Promise<string | null> {
  return cluster.xadd(keys.events, '*', EVENT_LINES_FIELD, lines.join('\n'));
}

async function committedNextSeq(keys: Keys): Promise<number> {
  return Number(await cluster.hget(keys.position, 'nextSeq'));
}

/** What one master's sharded subscriber heard: user channels and its batch-end channel, in arrival order. */
interface MasterListener {
  readonly shard: Shard;
  readonly users: number[];
  readonly heard: [channel: string, message: string][];
}

/** One plain connection per master, subscribed there to the channels of the users it serves and to its batch-end channel. */
async function listenOnEveryMaster(keys: Keys, users: number[]): Promise<MasterListener[]> {
  return Promise.all(clusterShards(cluster).map(async (shard) => {
    const subscriber = new Redis({ host: shard.node.host, port: shard.node.port, maxRetriesPerRequest: 1 });
    cleanups.push(async () => subscriber.disconnect());
    const own = users.filter((user) => cluster.slots[keySlot(keys.userChannel(user))]?.[0] === shard.nodeKey);
    const heard: [string, string][] = [];
    subscriber.on('smessage', (channel: string, message: string) => heard.push([channel, message]));
    // One SSUBSCRIBE per channel: it takes channels of one slot only.
    for (const channel of [...own.map((user) => keys.userChannel(user)), keys.batchEndOnSlot(shard.firstSlot)]) await subscriber.ssubscribe(channel);
    return { shard, users: own, heard };
  }));
}

/**
 * The master's messages cut after each marker: per batch, the user channels that
 * received a delivery before the marker, and the marker.
 */
function segments(keys: Keys, listener: MasterListener): { channels: string[]; marker: string }[] {
  const batchEnd = keys.batchEndOnSlot(listener.shard.firstSlot);
  const cut: { channels: string[]; marker: string }[] = [];
  let channels: string[] = [];
  for (const [channel, message] of listener.heard) {
    if (channel !== batchEnd) {
      channels.push(channel);
      continue;
    }
    cut.push({ channels: channels.sort(), marker: message });
    channels = [];
  }
  return cut;
}

test('batches whose users are on all three masters: each master carries its users\' deliveries, then the batch\'s marker, batch after batch', async () => {
  const { prefix, keys } = clusterKeys('seq-cluster-publish');
  const users = Array.from({ length: 30 }, (_, index) => index + 1);
  await gatewayHolding(keys, users);
  const listeners = await listenOnEveryMaster(keys, users);
  assert.equal(listeners.length, 3);
  for (const listener of listeners) assert.ok(listener.users.length > 0, `master ${listener.shard.nodeKey} serves some users' channels`);
  const first = await start(prefix);
  // Every batch holds a broadcast: every user has one delivery in each.
  const batches = [['1|B'], ['2|B', '3|P|1|2'], ['4|S|5', '5|B', '6|F|3|4']];
  for (const lines of batches) {
    await append(keys, lines);
    const last = Number(lines.at(-1)!.split('|')[0]);
    await eventually(async () => assert.equal(await committedNextSeq(keys), last + 1));
  }
  const expectedMarkers = ['0 1 0 1', '0 1 1 3', '0 1 3 6'];
  for (const listener of listeners) {
    const channels = listener.users.map((user) => keys.userChannel(user)).sort();
    await eventually(() => assert.deepEqual(
      segments(keys, listener), expectedMarkers.map((marker) => ({ channels, marker })),
      `master ${listener.shard.nodeKey}: every batch's deliveries, then its marker`,
    ));
  }

  // A new term publishes the last batch again, with its own term, on every master.
  await stop(first);
  await start(prefix);
  for (const listener of listeners) {
    const channels = listener.users.map((user) => keys.userChannel(user)).sort();
    await eventually(() => assert.deepEqual(segments(keys, listener).at(-1), { channels, marker: '0 1 3 6' }));
  }
  await append(keys, ['7|B']);
  for (const listener of listeners) {
    await eventually(() => assert.deepEqual(segments(keys, listener).at(-1)?.marker, '0 2 6 7', 'the second term\'s batches carry its term'));
  }
  assert.deepEqual((await cluster.hget(keys.position, 'term')), '2');
});

test('a master that does not serve a channel any more fails the publication, which goes again on the slot map read afresh', async () => {
  const { keys } = clusterKeys('seq-cluster-moved');
  const publisher = new ShardedPublisher(cluster, keys);
  const listeners = await listenOnEveryMaster(keys, [1]);
  const owner = listeners.find((listener) => listener.users.length === 1)!;
  const other = listeners.find((listener) => listener !== owner)!;
  const slot = keySlot(keys.userChannel(1));
  // The client's map is stale: it names another master for the user's slot.
  cluster.slots[slot] = [other.shard.nodeKey];
  const publication = { deliveries: [loggedDelivery(1, '0 1 1\n1|B\r\n')], marker: '0 1 0 1' };
  await assert.rejects(publisher.publish(publication), /non local key/);
  assert.equal(cluster.slots[slot]?.[0], owner.shard.nodeKey, 'the slot map was read again');
  await publisher.publish(publication);
  await eventually(() => assert.deepEqual(segments(keys, owner), [{ channels: [keys.userChannel(1)], marker: '0 1 0 1' }]));
  await eventually(() => assert.deepEqual(segments(keys, other), [{ channels: [], marker: '0 1 0 1' }], 'no master had a marker of the failed attempt'));
});

test('the follow graph on a cluster: bounded commits, loaded again after a restart; trimmed by the BullMQ job; deleted by a reset', async () => {
  const { prefix, keys } = clusterKeys('seq-cluster-graph');
  await gatewayHolding(keys, [1, 2]);
  const env = { SEQUENCER_MAX_COMMIT_FOLLOW_KEYS: '3', SEQUENCER_TRIM_INTERVAL_MS: '100' };
  const first = await start(prefix, env);
  // Users 1 and 2 follow ten users each: ten follow sets, at most three per commit.
  const follows = Array.from({ length: 20 }, (_, index) => `${index + 1}|F|${(index % 2) + 1}|${100 + (index >> 1)}`);
  await append(keys, follows);
  await eventually(async () => assert.equal(await committedNextSeq(keys), 21));
  assert.ok(first.active!.sequencer.counters.get('commits') >= 4, 'ten follow sets took at least four commits');
  for (let followed = 100; followed < 110; followed++) {
    assert.deepEqual((await cluster.smembers(`${keys.followersPrefix(0)}${followed}`)).sort(), ['1', '2']);
  }
  await stop(first);

  const second = await start(prefix, env);
  await append(keys, ['21|S|105', '22|S|999']);
  await eventually(async () => assert.equal(await committedNextSeq(keys), 23));
  const [[, fields]] = (await cluster.xrevrangeBuffer(keys.deliveries, '+', '-', 'COUNT', 1)) as [[Buffer, Buffer[]]];
  const logged = decodeLoggedBatch(fields)!;
  assert.deepEqual(
    [...decodeLoggedDeliveries(logged.deliveries)].map(([userId, message]) => [userId, message.toString()]),
    [[1, '0 21 21\n21|S|105\r\n'], [2, '0 21 21\n21|S|105\r\n']],
    'the followers loaded from the cluster are notified',
  );
  assert.equal(decodeBatchMarker(logged.marker)?.term, 2);
  await eventually(async () => assert.ok((await cluster.xlen(keys.events)) <= 1, 'the stream is trimmed behind the position'), 5000, 50);

  // An operator's reset, as the active term runs it: the old epoch's sets are deleted wherever they are.
  await stop(second);
  const lease = new LeaderLease(cluster, keys.sequencerLease, 10_000);
  assert.ok(await lease.acquire(), 'the lease is free once the sequencer stopped');
  assert.deepEqual(await resetSequence(cluster, keys, lease.token, 0), { epoch: 1, followerSets: 10 });
  assert.equal(await cluster.exists(`${keys.followersPrefix(0)}100`), 0);
});

/** The users the last committed batch delivered to. */
async function lastRecipients(keys: Keys): Promise<number[]> {
  const [entry] = (await cluster.xrevrangeBuffer(keys.deliveries, '+', '-', 'COUNT', 1)) as [Buffer, Buffer[]][];
  const logged = entry && decodeLoggedBatch(entry[1]);
  return logged ? [...decodeLoggedDeliveries(logged.deliveries)].map(([userId]) => userId) : [];
}

test('gateway announcements: a subscriber cut off moves to another master and presence is read again', async () => {
  const { prefix, keys } = clusterKeys('seq-cluster-presence');
  await gatewayHolding(keys, [1]);
  await start(prefix);
  // Classic pub/sub reaches every node: a join published anywhere arrives.
  await cluster.sadd(keys.presence('g1'), 2);
  await cluster.publish(keys.gatewayEvents, encodeGatewayEvent({ kind: 'join', gatewayId: 'g1', userIds: [2] }));
  let seq = 0;
  const broadcastUntil = (users: number[]) => eventually(async () => {
    seq++;
    await append(keys, [`${seq}|B`]);
    await eventually(async () => assert.equal(await committedNextSeq(keys), seq + 1));
    assert.deepEqual(await lastRecipients(keys), users);
  }, 5000, 100);
  await broadcastUntil([1, 2]);
  for (const node of cluster.nodes('master')) await node.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
  // Announced while no subscriber listened: only reading presence again finds it.
  await cluster.sadd(keys.presence('g1'), 3);
  await broadcastUntil([1, 2, 3]);
});

test('a failover of the master that holds the sequencer\'s state ends the term; the next one goes on from what the new master holds', async () => {
  const { prefix, keys } = clusterKeys('seq-cluster-failover');
  await gatewayHolding(keys, [1]);
  const service = await start(prefix);
  await append(keys, ['1|B']);
  await eventually(async () => assert.equal(await committedNextSeq(keys), 2));
  const slot = keySlot(keys.position);
  const master = cluster.slots[slot]![0]!;
  // CLUSTER SLOTS: [first, last, master, replica, ...], each node [host, port, id]; a replica is listed once it has synchronized.
  const replica = await eventually(async () => {
    const ranges = (await cluster.cluster('SLOTS')) as unknown as [number, number, ...[string, number][]][];
    const found = ranges.find(([first, last]) => first <= slot && slot <= last)?.[3];
    assert.ok(found, 'the state\'s master has a replica');
    return found;
  }, 20_000, 200);
  const promoted = new Redis({ host: replica[0], port: replica[1], maxRetriesPerRequest: 1 });
  cleanups.push(async () => promoted.disconnect());
  await promoted.cluster('FAILOVER');
  await eventually(async () => assert.equal(((await promoted.role()) as [string])[0], 'master'), 10_000);
  await append(keys, ['2|B']);
  await eventually(async () => assert.equal(await committedNextSeq(keys), 3), 10_000);
  assert.notEqual(cluster.slots[keySlot(keys.position)]?.[0], master);
  await eventually(() => assert.ok((service.active?.term ?? 0) >= 2, 'a new term began'), 10_000);
  assert.deepEqual(await lastRecipients(keys), [1]);
});
