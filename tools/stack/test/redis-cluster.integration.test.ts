import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import { keySlot } from '@follower-maze/shared';
import { freeClusterPortRange } from '../src/free-ports.ts';
import { RedisCluster } from '../src/redis-cluster.ts';

/** Keys whose slots fall to every master of a three-way split (0-5460, 5461-10922, 10923-16383). */
const KEYS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((name) => `fm-cluster-test:${name}`);

async function withCluster(
  options: { replicasPerMaster?: number; password?: string },
  run: (cluster: RedisCluster, client: Cluster) => Promise<void>,
): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'fm-redis-cluster-'));
  const cluster = await RedisCluster.start({ masters: 3, dataDir, ...options });
  const client = connectTo(cluster, options.password);
  try {
    await run(cluster, client);
  } finally {
    client.disconnect();
    await cluster.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function connectTo(cluster: RedisCluster, password?: string): Cluster {
  const client = new Cluster(cluster.seedUrls.map((url) => ({ host: '127.0.0.1', port: Number(new URL(url).port) })), {
    redisOptions: { ...(password !== undefined && { password }) },
    retryDelayOnClusterDown: 100,
    retryDelayOnFailover: 100,
  });
  client.on('error', () => undefined);
  return client;
}

async function writeAndRead(client: Cluster, value: string): Promise<void> {
  await Promise.all(KEYS.map((key) => client.set(key, `${value}:${key}`)));
  assert.deepEqual(await Promise.all(KEYS.map((key) => client.get(key))), KEYS.map((key) => `${value}:${key}`));
}

test('three masters: the slots are spread over all of them, and a cluster client writes and reads keys of every shard', async () => {
  await withCluster({}, async (cluster, client) => {
    assert.equal(cluster.nodes.length, 3);
    assert.equal((await cluster.masters()).length, 3);
    const slots = KEYS.map((key) => keySlot(key));
    assert.ok(slots.some((slot) => slot <= 5460) && slots.some((slot) => slot > 5460 && slot <= 10922) && slots.some((slot) => slot > 10922));
    await writeAndRead(client, 'one');
    const sizes = await Promise.all(client.nodes('master').map((master) => master.dbsize()));
    assert.deepEqual(sizes.map((size) => size > 0), [true, true, true], 'the keys live on three masters');
  });
});

test('three masters with a replica each and a password: a killed master\'s replica takes over and writes go on', async () => {
  await withCluster({ replicasPerMaster: 1, password: 'cluster-Xy7qP2' }, async (cluster, client) => {
    assert.equal(cluster.nodes.length, 6);
    assert.ok(cluster.seedUrls.every((url) => new URL(url).password === 'cluster-Xy7qP2'));
    await writeAndRead(client, 'before');
    const killed = await cluster.killMaster();
    await cluster.waitForState(true, 15_000);
    const masters = await cluster.masters();
    assert.equal(masters.length, 3, 'a replica was promoted');
    assert.ok(!masters.includes(killed));
    await writeAndRead(client, 'after');

    await killed.start();
    await cluster.waitForState(true, 15_000);
    assert.equal(await killed.role(), 'replica', 'the old master rejoins as its successor\'s replica');
  });
});

test('with AOF on fixed ports it starts again from its files, which are their owner\'s only, and keeps its data', async () => {
  const parent = mkdtempSync(join(tmpdir(), 'fm-redis-cluster-'));
  const dataDir = join(parent, 'data');
  // Fixed ports: each node's bus port is its port + 10000, which must be free too.
  const first = await freeClusterPortRange(3);
  const options = { masters: 3, dataDir, appendOnly: true, ports: [first, first + 1, first + 2] };
  let cluster = await RedisCluster.start(options);
  try {
    for (const dir of [dataDir, ...cluster.nodes.map((node) => join(dataDir, `node-${node.port}`))]) {
      assert.equal(statSync(dir).mode & 0o777, 0o700, dir);
    }
    assert.equal(statSync(join(dataDir, `node-${cluster.nodes[0]!.port}`, 'nodes.conf')).mode & 0o777, 0o600);
    const write = connectTo(cluster);
    await writeAndRead(write, 'kept');
    write.disconnect();
    await cluster.stop();
    cluster = await RedisCluster.start(options);
    const read = connectTo(cluster);
    assert.deepEqual(await Promise.all(KEYS.map((key) => read.get(key))), KEYS.map((key) => `kept:${key}`));
    read.disconnect();
  } finally {
    await cluster.stop();
    rmSync(parent, { recursive: true, force: true });
  }
});
