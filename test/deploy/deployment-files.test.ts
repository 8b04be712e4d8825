import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * The deployment files, checked by the tools that read them, without Docker: the compose
 * file by docker-compose, the balancer's by haproxy, Prometheus's by promtool. A tool that
 * is missing fails its test: .ci/run installs them all.
 */
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

function run(tool: string, args: readonly string[]): { status: number | null; output: string } {
  const result = spawnSync(tool, args, { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
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
