import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '@follower-maze/shared';

/**
 * The deployment files, checked by the tools that read them, without Docker: the compose
 * file by docker-compose, the balancer's by haproxy, Prometheus's by promtool. A tool that
 * is missing fails its test: .ci/run installs them all.
 */
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

function run(tool: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): { status: number | null; output: string } {
  const result = spawnSync(tool, args, { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    assert.fail(`${tool} is not installed: run .ci/run, which installs haproxy, prometheus (promtool) and docker-compose`);
  }
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

test('docker-compose.yml is a valid compose file, the monitoring profile included', () => {
  const { status, output } = run('docker-compose', ['-f', 'docker-compose.yml', '--profile', 'monitoring', 'config']);
  assert.equal(status, 0, output);
  // The services are the keys indented once (volumes' names have a dash and a value).
  const services = output.match(/^ {2}[a-z]+(?=:$)/gm)?.map((name) => name.trim()) ?? [];
  for (const service of ['ingest', 'sequencer', 'gateway', 'balancer', 'prometheus', 'grafana']) assert.ok(services.includes(service), `${service} in ${services}`);
  assert.equal(output.match(/\/readyz/g)?.length, 3, 'ingest, sequencer and gateway are checked on /readyz');
  assert.ok(output.includes('127.0.0.1:3000:3000/tcp'), 'Grafana is published on loopback only');
  assert.ok(output.includes('127.0.0.1:9091:9090/tcp'), 'Prometheus is published on loopback only (9090 is the event port)');
});

test('the cluster profile: three cluster nodes and their one-shot creation; with deploy/redis-cluster.env the services get REDIS_CLUSTER_NODES alone', () => {
  const single = run('docker-compose', ['-f', 'docker-compose.yml', '--profile', 'cluster', 'config'], { REDIS_ENV_FILE: '' });
  assert.equal(single.status, 0, single.output);
  const services = single.output.match(/^ {2}[a-z0-9-]+(?=:$)/gm)?.map((name) => name.trim()) ?? [];
  for (const service of ['redis', 'redis-node-1', 'redis-node-2', 'redis-node-3', 'redis-cluster-create']) assert.ok(services.includes(service), `${service} in ${services}`);
  assert.match(single.output, /redis-cli --cluster\s+create redis-node-1:6379 redis-node-2:6379 redis-node-3:6379/);
  assert.equal(single.output.match(/deploy\/redis-cluster-node\.conf:\/usr\/local\/etc\/redis\/redis\.conf:ro/g)?.length, 3, 'every node reads it');
  assert.equal(single.output.match(/REDIS_URL: redis:\/\/redis:6379/g)?.length, 3, 'by default the services use the one Redis');
  assert.ok(!single.output.includes('REDIS_CLUSTER_NODES'));

  const cluster = run('docker-compose', ['-f', 'docker-compose.yml', '--profile', 'cluster', 'config'], { REDIS_ENV_FILE: 'deploy/redis-cluster.env' });
  assert.equal(cluster.status, 0, cluster.output);
  const seeds = [...cluster.output.matchAll(/REDIS_CLUSTER_NODES: (\S+)/g)].map(([, value]) => value!);
  assert.equal(seeds.length, 3, 'ingest, sequencer and gateway');
  assert.ok(!cluster.output.includes('REDIS_URL'), 'no REDIS_URL beside REDIS_CLUSTER_NODES: the services refuse both');
  const config = loadConfig({ REDIS_CLUSTER_NODES: seeds[0] }, []);
  assert.deepEqual(config.redisClusterNodes, ['redis://redis-node-1:6379', 'redis://redis-node-2:6379', 'redis://redis-node-3:6379']);
});

test('deploy/haproxy.cfg is accepted by haproxy -c (gateways resolved at run time, through Docker\'s DNS)', () => {
  const { status, output } = run('haproxy', ['-c', '-f', 'deploy/haproxy.cfg']);
  assert.equal(status, 0, output);
  assert.match(output, /Configuration file is valid/);
});

test('deploy/prometheus.yml is accepted by promtool check config', () => {
  const { status, output } = run('promtool', ['check', 'config', 'deploy/prometheus.yml']);
  assert.equal(status, 0, output);
  assert.match(output, /SUCCESS/);
});
