import { afterEach, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { keysFor } from '@follower-maze/shared';
import { startGatewayService } from '../../../services/gateway/src/gateway-service.ts';
import { startIngestService } from '../../../services/ingest/src/ingest-service.ts';
import { startSequencerService } from '../../../services/sequencer/src/sequencer-service.ts';
import { readTopSample } from '../src/top-sample.ts';
import { renderTopScreen } from '../src/top-screen.ts';
import { deletePrefix, eventually, silentLogger, testConfig, testRedis, TEST_REDIS_URL, uniquePrefix } from '../../../test/support/redis-fixture.ts';
import { TcpPeer } from '../../../test/support/tcp-peer.ts';
import { spawnOpsTop, writeStackKeys } from './support/ops-top.ts';

const redis = testRedis();
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
after(() => redis.disconnect());

function withPrefix(name: string) {
  const prefix = uniquePrefix(name);
  cleanups.push(() => deletePrefix(redis, prefix));
  return { prefix, keys: keysFor(prefix) };
}

test('samples a running stack: position, lease, stream, and the load each gateway reports with its heartbeat', async () => {
  const { prefix, keys } = withPrefix('top-stack');
  const config = testConfig(prefix, { GATEWAY_HEARTBEAT_INTERVAL_MS: '100' });
  const sequencer = await startSequencerService(config, silentLogger);
  cleanups.push(() => sequencer.close());
  await eventually(() => assert.ok(sequencer.active, 'the only sequencer becomes active'));
  const gateway = await startGatewayService(config, silentLogger);
  cleanups.push(() => gateway.close());
  const ingest = await startIngestService(config, silentLogger);
  cleanups.push(() => ingest.close());

  const client = await TcpPeer.open(gateway.port);
  cleanups.push(() => client.destroy());
  await client.write('7\r\n');
  await eventually(async () => assert.equal((await redis.sismember(keys.presence(gateway.gateway.gatewayId), 7)), 1, 'user 7 online'));
  const source = await TcpPeer.open(ingest.port);
  cleanups.push(() => source.destroy());
  // Four notifications for user 7 (broadcast, private message, follow), and one event that notifies nobody.
  await source.write('2|P|1|7\r\n1|B\r\n3|F|9|7\r\n4|S|9\r\n');
  await eventually(() => assert.equal(client.received.split('\r\n').length - 1, 3, 'user 7 notified'));

  const sample = await eventually(async () => {
    const taken = await readTopSample(redis, keys);
    assert.equal(taken.gateways[0]?.load?.notificationsWritten, 3, 'a heartbeat since the last notification');
    return taken;
  });
  assert.deepEqual(sample.position, { nextSeq: 5, batchSeq: sample.position.batchSeq, epoch: 0, term: 1 });
  assert.equal(sample.lease?.holder, `${hostname()}-${process.pid}`);
  // The lease lasts 1.5 s and is renewed every 0.4 s.
  assert.ok(sample.lease.ttlMs > 0 && sample.lease.ttlMs <= 1500, `lease ${sample.lease.ttlMs} ms left`);
  assert.equal(sample.stream.newestSeq, 4);
  assert.deepEqual(sample.gateways.map((reported) => [reported.id, reported.load?.clients, reported.load?.unsentBytes]), [
    [gateway.gateway.gatewayId, 1, 0],
  ]);
  const ageMs = sample.atMs - sample.gateways[0]!.heartbeatAtMs;
  assert.ok(ageMs >= 0 && ageMs < 1000, `heartbeat ${ageMs} ms old`);
  assert.ok(sample.redisMemory.length === 1 && sample.redisMemory[0]!.usedBytes > 0 && !sample.redisMemory[0]!.node, 'Redis memory read');

  const later = await eventually(async () => {
    const taken = await readTopSample(redis, keys);
    assert.ok(taken.gateways[0]!.load!.atMs > sample.gateways[0]!.load!.atMs, 'a later heartbeat');
    return taken;
  });
  const screen = renderTopScreen({ ok: true, sample: later }, [{ ok: true, sample }], { keyPrefix: prefix, redisHost: 'here', interactive: false });
  assert.match(screen, /^events {5}in 0\/s {2}applied 0\/s {2}next 5$/m);
  assert.match(screen, new RegExp(`^sequencer  ${hostname()}-${process.pid} leads`, 'm'));
  assert.match(screen, /^gateways {3}1 {2}clients 1 {2}unsent 0 B {2}notifications 0\/s$/m);
});

function opsTop(env: NodeJS.ProcessEnv, ...args: string[]) {
  const top = spawnOpsTop(env, ...args);
  cleanups.push(() => void top.child.kill('SIGKILL'));
  return top;
}

test('piped, ops top prints a plain screen every second and stops on SIGTERM', async () => {
  const { prefix, keys } = withPrefix('top-piped');
  await writeStackKeys(redis, keys);
  const top = opsTop({ REDIS_URL: TEST_REDIS_URL, KEY_PREFIX: prefix });
  await eventually(() => assert.ok(top.output().split('follower-maze top').length - 1 >= 2, 'two screens'), 15_000, 50);
  const output = top.output();
  assert.doesNotMatch(output, /\x1b/, 'no terminal control sequences when piped');
  assert.match(output, /^events {5}in 0\/s {2}applied 0\/s {2}next 101$/m);
  assert.match(output, /^sequencer  vm-1 leads \(lease \d+\.\d s left\) {2}term 3 {2}epoch 1 {2}batch 50$/m);
  assert.match(output, /^waiting {4}sequencer-vm-2: the lease \(standing by\), 9 s$/m);
  assert.match(output, /^gw-1 {11}5 {9}0 B {16}- {2}\d+\.\d s ago$/m);
  top.child.kill('SIGTERM');
  assert.equal(await top.exited, 0);
});

test('ops top --once: exit code 1 and the reason when Redis is unreachable, and no password in what it prints', async () => {
  const top = opsTop({ REDIS_URL: 'redis://operator:not-to-be-shown@127.0.0.1:1', KEY_PREFIX: 'fmtest-top-down' }, '--once');
  assert.equal(await top.exited, 1);
  assert.match(top.output(), /^follower-maze top {2}\d\d:\d\d:\d\d UTC {2}fmtest-top-down on 127\.0\.0\.1:1\nRedis unreachable: connect ECONNREFUSED 127\.0\.0\.1:1\n$/);
  assert.doesNotMatch(top.output(), /not-to-be-shown/);
});
