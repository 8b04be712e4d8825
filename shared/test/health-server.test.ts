import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HealthServer, type HealthCheck } from '../src/health-server.ts';
import { remoteReadinessCheck } from '../src/health-checks.ts';
import { ServiceMetrics } from '../src/metrics.ts';
import { probeReadiness } from '../src/readiness-probe.ts';
import { parseReadiness } from '../src/readiness-report.ts';
import { freePorts } from '../../tools/stack/src/free-ports.ts';
import { httpGet } from '../../test/support/metrics-scrape.ts';

const HOST = '127.0.0.1';

async function serve(checks: readonly HealthCheck[], t: { after(fn: () => Promise<void>): void }): Promise<HealthServer> {
  const metrics = new ServiceMetrics();
  metrics.counter('fm_t_things_total', 'things').inc(4);
  const server = await HealthServer.start(HOST, 0, metrics, checks);
  t.after(() => server.close());
  return server;
}

const passing = (name: string, detail: string): HealthCheck => ({ name, check: () => ({ ok: true, detail }) });

test('/metrics serves the registry as Prometheus text, /livez answers while the process runs, anything else is 404', async (t) => {
  const server = await serve([], t);
  const metrics = await httpGet(server.port, '/metrics');
  assert.equal(metrics.status, 200);
  assert.match(metrics.type, /^text\/plain; version=0\.0\.4/);
  assert.match(metrics.body, /^fm_t_things_total 4$/m);
  assert.deepEqual(await httpGet(server.port, '/livez').then(({ status }) => status), 200);
  assert.equal((await httpGet(server.port, '/nothing')).status, 404);
});

test('/readyz is 200 when every check passes and 503 otherwise, saying each check\'s state; a check that throws or hangs fails', async (t) => {
  const ready = await serve([passing('listening', 'event port 9090'), passing('redis', 'answered PING in 1 ms')], t);
  const answer = await httpGet(ready.port, '/readyz');
  assert.equal(answer.status, 200);
  assert.equal(answer.body, 'ready\nok listening: event port 9090\nok redis: answered PING in 1 ms\n');

  const notReady = await serve([
    passing('listening', 'event port 9090'),
    { name: 'redis', check: () => Promise.reject(new Error('connection reconnecting')) },
    { name: 'role', check: () => new Promise(() => undefined) },
  ], t);
  const startedAt = Date.now();
  const failed = await httpGet(notReady.port, '/readyz');
  assert.ok(Date.now() - startedAt < 3000, 'a hanging check does not hang the answer');
  assert.equal(failed.status, 503);
  assert.deepEqual(parseReadiness(failed.body), {
    ready: false,
    checks: [
      { name: 'listening', ok: true, detail: 'event port 9090' },
      { name: 'redis', ok: false, detail: 'connection reconnecting' },
      { name: 'role', ok: false, detail: 'no answer within 1000 ms' },
    ],
  });
});

test('a probe reads another process\'s readiness; one that does not answer is not ready, and says why', async (t) => {
  const worker = await serve([passing('listening', 'client port 9099')], t);
  assert.deepEqual(await probeReadiness(HOST, worker.port, 1000), { ready: true, checks: [{ name: 'listening', ok: true, detail: 'client port 9099' }] });
  const [unused] = await freePorts(1);
  const gone = await probeReadiness(HOST, unused!, 1000);
  assert.equal(gone.ready, false);
  assert.match(gone.checks[0]!.detail, /ECONNREFUSED/);

  const primary = await serve([remoteReadinessCheck('worker 1', HOST, worker.port, 800), remoteReadinessCheck('worker 2', HOST, unused!, 800)], t);
  const report = parseReadiness((await httpGet(primary.port, '/readyz')).body);
  assert.equal(report.ready, false);
  assert.deepEqual(report.checks.map(({ name, ok }) => [name, ok]), [['worker 1', true], ['worker 2', false]]);
  assert.equal(report.checks[0]!.detail, `ready (port ${worker.port})`);
});
