import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { decodeGatewayEvent, keySlot, keysFor, type Keys } from '@follower-maze/shared';
import { startGatewayService, type GatewayService } from '../src/gateway-service.ts';
import { RedisCluster } from '../../../tools/stack/src/redis-cluster.ts';
import { eventually, silentLogger, testConfig, uniquePrefix } from '../../../test/support/redis-fixture.ts';
import { TcpPeer } from '../../../test/support/tcp-peer.ts';
import { ClusterPublisher, type TestBatch } from './support/cluster-publisher.ts';

let cluster: RedisCluster;
let dataDir: string;
const cleanups: (() => Promise<void> | void)[] = [];

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'fm-gateway-cluster-'));
  cluster = await RedisCluster.start({ masters: 3, dataDir });
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
after(async () => {
  await cluster.stop();
  await rm(dataDir, { recursive: true, force: true });
});

/** A gateway on the cluster, a stand-in sequencer publishing to it, and what the gateway tells the sequencer. */
async function startOnCluster(name: string, on: RedisCluster = cluster) {
  const prefix = uniquePrefix(name);
  const keys = keysFor(prefix, true);
  const publisher = new ClusterPublisher(on.seedUrls, keys);
  cleanups.push(() => publisher.close());
  await publisher.ready();
  // Classic pub/sub reaches every node of a cluster: any one carries the gateway's events.
  const listener = new Redis(on.seedUrls.at(-1)!);
  cleanups.push(() => listener.disconnect());
  const acks: number[] = [];
  const joined = new Set<number>();
  listener.on('message', (_channel: string, message: string) => {
    const event = decodeGatewayEvent(message);
    if (event?.kind === 'ack') acks.push(event.batchSeq);
    if (event?.kind === 'join') for (const userId of event.userIds) joined.add(userId);
  });
  await listener.subscribe(keys.gatewayEvents);
  const env = { REDIS_URL: undefined, REDIS_CLUSTER_NODES: on.seedUrls.join(',') };
  const service: GatewayService = await startGatewayService(testConfig(prefix, env), silentLogger);
  cleanups.push(() => service.close());
  const clients = async (userIds: readonly number[]) => {
    const peers = new Map<number, TcpPeer>();
    for (const userId of userIds) {
      const peer = await TcpPeer.open(service.port);
      cleanups.push(() => peer.destroy());
      await peer.write(`${userId}\r\n`);
      peers.set(userId, peer);
    }
    await eventually(() => assert.ok(userIds.every((userId) => joined.has(userId)), 'every user announced'));
    return peers;
  };
  return { keys, publisher, service, acks, clients };
}

/** Users whose channels are on every master, `perMaster` each. */
function usersOnEveryMaster(keys: Keys, publisher: ClusterPublisher, perMaster: number): number[] {
  const byMaster = new Map<string, number[]>(publisher.shards().map(({ nodeKey }) => [nodeKey, []]));
  for (let userId = 1; [...byMaster.values()].some((users) => users.length < perMaster); userId++) {
    const users = byMaster.get(publisher.cluster.slots[keySlot(keys.userChannel(userId))]![0]!)!;
    if (users.length < perMaster) users.push(userId);
  }
  return [...byMaster.values()].flat().sort((a, b) => a - b);
}

/**
 * Batches of events numbered from `firstSeq` on: per batch a broadcast, a private message
 * to each user in turn and a status update to every other user. `expected` gathers what
 * each user must receive, in order.
 */
/** The next `count` batches, each committed (delivery log) and then published, as the sequencer does. */
async function commitAndPublish(publisher: ClusterPublisher, batches: Batches, count: number): Promise<void> {
  for (let n = 0; n < count; n++) {
    const batch = batches.next();
    await publisher.commit(batch);
    await publisher.publish(batch);
  }
}

class Batches {
  readonly expected = new Map<number, string>();
  lastBatch = 0;
  private nextSeq = 1;

  constructor(private readonly users: readonly number[], private readonly term = 1) {
    for (const userId of users) this.expected.set(userId, '');
  }

  next(): TestBatch {
    const deliveries = new Map<number, string[]>();
    const notify = (userId: number, payload: string) => {
      if (!deliveries.has(userId)) deliveries.set(userId, []);
      deliveries.get(userId)!.push(payload);
      this.expected.set(userId, `${this.expected.get(userId)!}${payload}\r\n`);
    };
    const broadcast = `${this.nextSeq++}|B`;
    for (const userId of this.users) notify(userId, broadcast);
    const to = this.users[this.nextSeq % this.users.length]!;
    notify(to, `${this.nextSeq++}|P|7|${to}`);
    const status = `${this.nextSeq++}|S|${to}`;
    this.users.forEach((userId, index) => {
      if (index % 2 === 0) notify(userId, status);
    });
    const marker = { epoch: 0, term: this.term, previousSeq: this.lastBatch, batchSeq: this.nextSeq - 1 };
    this.lastBatch = marker.batchSeq;
    return { marker, deliveries };
  }
}

test('on a cluster, clients receive their notifications from every master in order, each once', async () => {
  const { keys, publisher, clients, acks, service } = await startOnCluster('gw-cluster-order');
  const users = usersOnEveryMaster(keys, publisher, 4);
  const peers = await clients(users);
  // Presence and heartbeats are in the prefix's slot, each written with its message in one transaction.
  const { gatewayId } = service.gateway;
  assert.deepEqual((await publisher.cluster.smembers(keys.presence(gatewayId))).map(Number).sort((a, b) => a - b), users);
  assert.equal(await publisher.cluster.hexists(keys.gateways, gatewayId), 1);
  const batches = new Batches(users);
  for (let n = 0; n < 30; n++) {
    const batch = batches.next();
    await publisher.commit(batch);
    await publisher.publish(batch);
    // Published twice, as a sequencer does after a "non local key" refusal or in a new term: dropped by sequence number.
    if (n % 7 === 0) await publisher.publish(batch);
  }
  await eventually(() => {
    for (const userId of users) assert.equal(peers.get(userId)!.received, batches.expected.get(userId), `user ${userId}'s notifications`);
  });
  await eventually(() => assert.ok(acks.includes(90), 'the last batch acknowledged'));
});

test('on a cluster, a batch counts as received only once its marker came from every master', async () => {
  const { keys, publisher, clients, acks } = await startOnCluster('gw-cluster-markers');
  const users = usersOnEveryMaster(keys, publisher, 1);
  const peers = await clients(users);
  const batches = new Batches(users);
  const first = batches.next();
  await publisher.commit(first);
  await publisher.publish(first);
  await eventually(() => assert.ok(acks.includes(3), 'batch 3 acknowledged'));
  const second = batches.next();
  const [held, ...others] = publisher.shards();
  await publisher.commit(second);
  await publisher.publish(second, (shard) => shard.nodeKey !== held!.nodeKey);
  // Every delivery arrived, and the markers of two masters; a heartbeat (every second) would repeat an acknowledgement.
  await eventually(() => {
    for (const userId of users) assert.equal(peers.get(userId)!.received, batches.expected.get(userId), `user ${userId}'s notifications`);
  });
  await delay(1200);
  assert.ok(others.length === 2 && !acks.includes(6), 'batch 6 not acknowledged with a master\'s marker missing');
  await publisher.publishMarker(undefined, held!, second.marker);
  await eventually(() => assert.ok(acks.includes(6), 'batch 6 acknowledged once the last marker came'));
});

test('on a cluster, a master\'s subscriber connection killed: the gateway catches up from the delivery log, nothing lost or doubled', async () => {
  const { keys, publisher, clients, service, acks } = await startOnCluster('gw-cluster-kill');
  const users = usersOnEveryMaster(keys, publisher, 3);
  const peers = await clients(users);
  const batches = new Batches(users);
  const publishBatches = (count: number) => commitAndPublish(publisher, batches, count);
  await publishBatches(5);
  for (const [index, node] of (await cluster.masters()).entries()) {
    const admin = new Redis(node.url);
    const list = (await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string;
    const subscriber = list.split('\n').find((line) => line.includes(`name=gateway-${service.gateway.gatewayId}-subscriber`));
    assert.ok(subscriber, `the gateway's sharded subscriber on ${node.port}`);
    const id = /\bid=(\d+)/.exec(subscriber)![1]!;
    await admin.call('CLIENT', 'KILL', 'ID', id);
    admin.disconnect();
    // Published while the connection is away (ioredis waits 100 ms before it reconnects), and after.
    await publishBatches(10);
    await eventually(() => assert.equal(service.gateway.counters.get('subscriberDrops'), index + 1, 'the drop was seen'));
    // Acknowledged only once caught up: live markers are held until then.
    await eventually(() => assert.ok(acks.includes(batches.lastBatch), `batch ${batches.lastBatch} acknowledged`));
  }
  await publishBatches(5);
  await eventually(() => {
    for (const userId of users) assert.equal(peers.get(userId)!.received, batches.expected.get(userId), `user ${userId}'s notifications`);
  });
  assert.ok(service.gateway.counters.get('batchesCaughtUp') > 0, 'batches were read back from the delivery log');
  assert.equal(service.gateway.counters.get('gaps'), 0);
  const lastBatch = 3 * (5 + 30 + 5);
  await eventually(() => assert.ok(acks.includes(lastBatch), `batch ${lastBatch} acknowledged`));
});

test('on a cluster, a user\'s slot moved to another master: the gateway subscribes it there and catches up, nothing lost or doubled', async () => {
  const { keys, publisher, clients, service, acks } = await startOnCluster('gw-cluster-reshard');
  const users = usersOnEveryMaster(keys, publisher, 2);
  const peers = await clients(users);
  const batches = new Batches(users);
  const publishBatches = (count: number) => commitAndPublish(publisher, batches, count);
  await publishBatches(3);
  // A slot holding no key, and not the lowest of its master (which names the master's batch-end channel).
  const shards = publisher.shards();
  const moved = users.find((userId) => {
    const slot = keySlot(keys.userChannel(userId));
    return slot !== keySlot(keys.position) && !shards.some(({ firstSlot }) => firstSlot === slot);
  })!;
  const slot = keySlot(keys.userChannel(moved));
  const from = publisher.cluster.slots[slot]![0]!;
  const to = shards.find(({ nodeKey }) => nodeKey !== from)!.nodeKey;
  const admin = new Map((await cluster.masters()).map((node) => [`127.0.0.1:${node.port}`, new Redis(node.url)]));
  cleanups.push(async () => {
    await moveSlot(admin, slot, to, from);
    for (const connection of admin.values()) connection.disconnect();
  });
  await moveSlot(admin, slot, from, to);
  await eventually(async () => {
    await new Promise((resolve) => publisher.cluster.refreshSlotsCache(resolve));
    assert.equal(publisher.cluster.slots[slot]![0], to, 'the publisher sees the slot moved');
  });
  await publishBatches(5);
  await eventually(() => {
    for (const userId of users) assert.equal(peers.get(userId)!.received, batches.expected.get(userId), `user ${userId}'s notifications`);
  });
  assert.ok(service.gateway.counters.get('subscriberDrops') >= 1, 'the server\'s unsubscription counted as a drop');
  await eventually(() => assert.ok(acks.includes(batches.lastBatch), `batch ${batches.lastBatch} acknowledged`));
});

/** Moves an empty slot between two masters, telling every master at once rather than waiting for gossip. */
async function moveSlot(admin: ReadonlyMap<string, Redis>, slot: number, from: string, to: string): Promise<void> {
  const id = async (nodeKey: string) => (await admin.get(nodeKey)!.call('CLUSTER', 'MYID')) as string;
  const [fromId, toId] = [await id(from), await id(to)];
  await admin.get(to)!.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', fromId);
  await admin.get(from)!.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', toId);
  for (const nodeKey of [to, from, ...[...admin.keys()].filter((key) => key !== to && key !== from)]) {
    await admin.get(nodeKey)!.call('CLUSTER', 'SETSLOT', slot, 'NODE', toId);
  }
}

test('on a cluster with replicas, a master killed: the gateway follows the replica that took its slots, catches up, nothing lost or doubled', async () => {
  const replicatedDir = await mkdtemp(join(tmpdir(), 'fm-gateway-failover-'));
  const replicated = await RedisCluster.start({ masters: 3, replicasPerMaster: 1, dataDir: replicatedDir });
  cleanups.push(async () => {
    await replicated.stop();
    await rm(replicatedDir, { recursive: true, force: true });
  });
  const { keys, publisher, clients, service, acks } = await startOnCluster('gw-cluster-failover', replicated);
  const users = usersOnEveryMaster(keys, publisher, 3);
  const peers = await clients(users);
  const batches = new Batches(users);
  const publishBatches = (count: number) => commitAndPublish(publisher, batches, count);
  await publishBatches(5);
  const killed = await replicated.killMaster(0);
  // The sequencer publishes on the masters of its slot map: once the replica took over, on it.
  await eventually(async () => {
    await new Promise((resolve) => publisher.cluster.refreshSlotsCache(resolve));
    assert.ok(publisher.shards().length === 3 && publisher.shards().every(({ node }) => node.port !== killed.port), 'a replica took over');
  }, 20_000, 200);
  await publishBatches(10);
  await eventually(() => {
    for (const userId of users) assert.equal(peers.get(userId)!.received, batches.expected.get(userId), `user ${userId}'s notifications`);
  }, 10_000);
  assert.ok(service.gateway.counters.get('subscriberDrops') >= 1, 'the drop was seen');
  assert.equal(service.gateway.counters.get('gaps'), 0);
  await eventually(() => assert.ok(acks.includes(batches.lastBatch), `batch ${batches.lastBatch} acknowledged`));
});
