import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freeClusterPortRange, freePortRange, freePorts } from '../src/free-ports.ts';
import { CapturedProcess } from '../../../test/support/captured-process.ts';
import { eventually } from '../../../test/support/redis-fixture.ts';

const KEY_PREFIX = 'fm-cluster-stack';

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** The environment a process started with, as Linux shows it to its user. */
function environmentOf(pid: number): Map<string, string> {
  return new Map(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean).map((entry) => {
    const equals = entry.indexOf('=');
    return [entry.slice(0, equals), entry.slice(equals + 1)] as [string, string];
  }));
}

test('REDIS_CLUSTER=3 npm start: a private three-master cluster, which the services get as REDIS_CLUSTER_NODES (not REDIS_URL) and ops finds; Ctrl-C stops every node', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fm-cluster-stack-'));
  const dataDir = join(dir, 'data');
  // The nodes take STACK_REDIS_PORT and the ports after it (and their cluster buses, 10000 above).
  const redisPort = await freeClusterPortRange(3);
  const nodePorts = [redisPort, redisPort + 1, redisPort + 2];
  const [eventPort, clientPort] = (await freePorts(2)) as [number, number];
  const metricsPort = await freePortRange(3);
  const { REDIS_URL: _url, REDIS_CLUSTER_NODES: _nodes, ...inherited } = process.env;
  const env: NodeJS.ProcessEnv = {
    ...inherited, REDIS_CLUSTER: '3', STACK_DATA_DIR: dataDir, STACK_REDIS_PORT: String(redisPort), EVENT_PORT: String(eventPort),
    CLIENT_PORT: String(clientPort), METRICS_PORT: String(metricsPort), KEY_PREFIX, SEQUENCERS: '1', LOG_LEVEL: 'info',
  };
  const stack = CapturedProcess.start('tools/stack/src/main.ts', [], env);
  try {
    await Promise.race([
      eventually(() => assert.ok(stack.output.includes('"msg":"stack ready'), `not ready yet:\n${stack.output}`), 60_000, 100),
      stack.exited.then((code) => assert.fail(`npm start ended (${code}):\n${stack.output}`)),
    ]);
    const password = readFileSync(join(dataDir, 'redis-password'), 'utf8');
    assert.equal(statSync(join(dataDir, 'cluster')).mode & 0o777, 0o700, 'the nodes\' files are their owner\'s only');

    const node = new Redis({ port: redisPort, password, lazyConnect: true });
    await node.connect();
    const info = await node.cluster('INFO');
    node.disconnect();
    assert.match(info, /^cluster_state:ok/m);
    assert.match(info, /^cluster_size:3/m, 'three masters serve the slots');

    const services = stack.output.split('\n').filter((line) => line.includes('"child":') && line.includes('"msg":"started"'))
      .map((line) => JSON.parse(line) as { child: string; pid: number });
    assert.deepEqual(services.map(({ child }) => child).sort(), ['gateway', 'ingest', 'sequencer']);
    for (const { child, pid } of services) {
      const environment = environmentOf(pid);
      assert.equal(environment.get('REDIS_URL'), undefined, `${child} gets no REDIS_URL`);
      assert.deepEqual(
        environment.get('REDIS_CLUSTER_NODES')?.split(','),
        nodePorts.map((port) => `redis://:${encodeURIComponent(password)}@127.0.0.1:${port}`),
        `${child} gets the cluster's nodes`,
      );
    }

    const status = await CapturedProcess.run('tools/ops/src/main.ts', ['status'], env);
    assert.equal(status.code, 0, status.output);
    assert.equal(Object.keys((JSON.parse(status.output) as { gateways: object }).gateways).length, 1, 'ops reads the gateway from the cluster');
    const top = await CapturedProcess.run('tools/ops/src/main.ts', ['top', '--once'], env);
    assert.equal(top.code, 0, top.output);
    for (const port of nodePorts) assert.match(top.output, new RegExp(`127\\.0\\.0\\.1:${port}  used `), `${port}'s memory on the screen`);

    await stack.stop('SIGINT');
    assert.equal(await stack.exited, 0, stack.output);
    assert.deepEqual(await Promise.all(nodePorts.map(accepts)), [false, false, false], 'every node stopped');
    for (const output of [stack.output, status.output, top.output]) assert.ok(!output.includes(password), `the password is shown:\n${output}`);
  } finally {
    await stack.stop('SIGINT');
    rmSync(dir, { recursive: true, force: true });
  }
});
