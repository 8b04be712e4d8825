import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startGatewayService } from '../../services/gateway/src/gateway-service.ts';
import { startIngestService } from '../../services/ingest/src/ingest-service.ts';
import { startSequencerService } from '../../services/sequencer/src/sequencer-service.ts';
import { freePortRange, freePorts } from '../../tools/stack/src/free-ports.ts';
import { PrivateRedis } from '../support/private-redis.ts';
import {
  dashboardQueries, exportedMetricNames, httpGet, queriedMetricNames, sample, scrape,
} from '../support/metrics-scrape.ts';
import { deletePrefix, eventually, silentLogger, testConfig, testRedis, uniquePrefix } from '../support/redis-fixture.ts';
import { TcpPeer } from '../support/tcp-peer.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DASHBOARD_FILE = join(REPO_ROOT, 'deploy/grafana/dashboards/follower-maze.json');
/** Series Prometheus makes itself for every target it scrapes. */
const PROMETHEUS_SERIES = ['up'];

const redis = testRedis();
after(() => redis.disconnect());

/** Runs the cleanups in reverse order of registration: services stop before their keys are deleted. */
function cleanups(): { add(cleanup: () => unknown): void; run(): Promise<void> } {
  const list: (() => unknown)[] = [];
  return {
    add: (cleanup) => list.push(cleanup),
    async run() {
      for (const cleanup of list.splice(0).reverse()) await cleanup();
    },
  };
}

test('a short run shows in every service\'s metrics, and every metric the dashboard queries is one they export', async () => {
  const prefix = uniquePrefix('metrics-run');
  const cleanup = cleanups();
  cleanup.add(() => deletePrefix(redis, prefix));
  try {
    const config = testConfig(prefix);
    const sequencer = await startSequencerService(config, silentLogger);
    cleanup.add(() => sequencer.close());
    const gateway = await startGatewayService(config, silentLogger);
    cleanup.add(() => gateway.close());
    const ingest = await startIngestService(config, silentLogger);
    cleanup.add(() => ingest.close());
    await eventually(() => assert.ok(sequencer.active, 'the sequencer is active'));

    const client = await TcpPeer.open(gateway.port);
    cleanup.add(() => client.destroy());
    await client.write('7\r\n');
    await eventually(async () => assert.equal(sample(await scrape(sequencer.metricsPort), 'fm_sequencer_online_users'), 1));
    const source = await TcpPeer.open(ingest.port);
    cleanup.add(() => source.destroy());
    await source.write('1|B\r\n2|F|3|7\r\nnot an event\r\n3|P|3|7\r\n');
    const expected = '1|B\r\n2|F|3|7\r\n3|P|3|7\r\n';
    await eventually(() => assert.equal(client.received, expected));

    const ingestMetrics = await scrape(ingest.metricsPort);
    const sequencerMetrics = await scrape(sequencer.metricsPort);
    const gatewayMetrics = await scrape(gateway.metricsPort);
    assert.equal(sample(ingestMetrics, 'fm_ingest_events_accepted_total'), 3);
    assert.equal(sample(ingestMetrics, 'fm_ingest_events_rejected_total{reason="malformed"}'), 1);
    assert.equal(sample(ingestMetrics, 'fm_ingest_events_rejected_total{reason="oversized"}'), 0);
    assert.equal(sample(sequencerMetrics, 'fm_sequencer_events_applied_total'), 3);
    assert.equal(sample(sequencerMetrics, 'fm_sequencer_notifications_routed_total'), 3);
    assert.equal(sample(sequencerMetrics, 'fm_sequencer_batch_events_sum'), 3);
    assert.ok(sample(sequencerMetrics, 'fm_sequencer_commit_duration_seconds_count')! >= 1, 'commits are timed');
    assert.equal(sample(sequencerMetrics, 'fm_sequencer_active'), 1);
    assert.ok(sample(sequencerMetrics, 'fm_sequencer_term')! >= 1, 'the term is numbered');
    assert.equal(sample(sequencerMetrics, 'fm_sequencer_reorder_window_events'), 100_000);
    assert.equal(sample(gatewayMetrics, 'fm_gateway_clients'), 1);
    assert.equal(sample(gatewayMetrics, 'fm_gateway_users'), 1);
    assert.equal(sample(gatewayMetrics, 'fm_gateway_join_latency_seconds_count'), 1);
    assert.equal(sample(gatewayMetrics, 'fm_gateway_notifications_written_total'), 3);
    assert.equal(sample(gatewayMetrics, 'fm_gateway_written_bytes_total'), Buffer.byteLength(expected));
    assert.ok(sample(gatewayMetrics, 'process_resident_memory_bytes')! > 0, 'with the process\'s own metrics');

    const exported = new Set([...[ingestMetrics, sequencerMetrics, gatewayMetrics].flatMap((text) => [...exportedMetricNames(text)]), ...PROMETHEUS_SERIES]);
    const queries = dashboardQueries(JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Parameters<typeof dashboardQueries>[0]);
    const queried = queries.flatMap(({ panel, expr }) => queriedMetricNames(expr).map((name) => ({ panel, name })));
    assert.ok(queries.length >= 20 && new Set(queried.map(({ name }) => name)).size >= 20, `the dashboard's queries were read (${queries.length})`);
    assert.deepEqual(queried.filter(({ name }) => !exported.has(name)).map(({ panel, name }) => `${panel}: ${name}`), []);
  } finally {
    await cleanup.run();
  }
});

test('a service is ready only while Redis answers; alive all the same; its reconnection is counted', async () => {
  const privateRedis = await PrivateRedis.start('metrics-redis');
  const server = privateRedis.server;
  const cleanup = cleanups();
  cleanup.add(() => privateRedis.stop());
  try {
    const ingest = await startIngestService(testConfig(uniquePrefix('metrics-ready'), { REDIS_URL: server.url }), silentLogger);
    cleanup.add(() => ingest.close());
    const ready = await httpGet(ingest.metricsPort, '/readyz');
    assert.equal(ready.status, 200);
    assert.match(ready.body, new RegExp(`^ready\nok listening: event port ${ingest.port}\nok redis: answered PING in \\d+ ms\n$`));

    await server.stop('SIGKILL');
    const down = await eventually(async () => {
      const answer = await httpGet(ingest.metricsPort, '/readyz');
      assert.equal(answer.status, 503);
      return answer;
    });
    assert.match(down.body, /^not ready\n/);
    assert.match(down.body, /^failing redis: /m);
    assert.equal((await httpGet(ingest.metricsPort, '/livez')).status, 200);

    await server.start();
    await eventually(async () => assert.equal((await httpGet(ingest.metricsPort, '/readyz')).status, 200), 10_000);
    assert.equal(sample(await scrape(ingest.metricsPort), 'fm_redis_reconnects_total{connection="ingest"}'), 1);
  } finally {
    await cleanup.run();
  }
});

test('a standby sequencer is ready and says so, the active one names its term, and the standby takes over with the next', async () => {
  const prefix = uniquePrefix('metrics-roles');
  const cleanup = cleanups();
  cleanup.add(() => deletePrefix(redis, prefix));
  try {
    const first = await startSequencerService(testConfig(prefix), silentLogger);
    cleanup.add(() => first.close());
    await eventually(() => assert.ok(first.active, 'the first sequencer is active'));
    const second = await startSequencerService(testConfig(prefix), silentLogger);
    cleanup.add(() => second.close());

    const active = await httpGet(first.metricsPort, '/readyz');
    assert.equal(active.status, 200);
    const term = Number(/^ok role: active, term (\d+)$/m.exec(active.body)?.[1]);
    assert.ok(term >= 1, active.body);
    const standby = await httpGet(second.metricsPort, '/readyz');
    assert.equal(standby.status, 200, 'a standby is ready: it takes over when it must');
    assert.match(standby.body, /^ok role: standby, waiting for the lease$/m);
    assert.equal(sample(await scrape(first.metricsPort), 'fm_sequencer_term'), term);
    assert.equal(sample(await scrape(second.metricsPort), 'fm_sequencer_active'), 0);
    assert.equal(sample(await scrape(second.metricsPort), 'fm_sequencer_term'), 0);

    await first.close();
    await eventually(async () => assert.match((await httpGet(second.metricsPort, '/readyz')).body, new RegExp(`^ok role: active, term ${term + 1}$`, 'm')));
    const taken = await scrape(second.metricsPort);
    assert.equal(sample(taken, 'fm_sequencer_active'), 1);
    assert.equal(sample(taken, 'fm_sequencer_lease_acquired_total'), 1);
  } finally {
    await cleanup.run();
  }
});

test('npm start says the stack is ready once every process answers ready, gateway workers included, and is quiet while idle', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fm-npm-start-'));
  const [redisPort, eventPort, clientPort] = await freePorts(3);
  // ingest, two sequencers, the gateway primary and its two workers.
  const metricsPort = await freePortRange(6);
  const { REDIS_URL: _redisUrl, KEY_PREFIX: _keyPrefix, ...environment } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', 'tools/stack/src/main.ts'], {
    cwd: REPO_ROOT,
    env: {
      ...environment, STACK_REDIS_PORT: String(redisPort), STACK_DATA_DIR: join(dir, 'data'), EVENT_PORT: String(eventPort),
      CLIENT_PORT: String(clientPort), METRICS_PORT: String(metricsPort), GATEWAYS: '2', SEQUENCERS: '2', LISTEN_HOST: '127.0.0.1',
      METRICS_INTERVAL_MS: '200', LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let output = '';
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    output += text;
    const parts = (partial + text).split('\n');
    partial = parts.pop()!;
    for (const line of parts) if (line.startsWith('{')) lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  child.stderr.setEncoding('utf8').on('data', (text: string) => (output += text));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const readyLine = await eventually(() => {
      const line = lines.find(({ msg }) => String(msg).startsWith('stack ready'));
      assert.ok(line, `no "stack ready" line yet:\n${output.slice(-3000)}`);
      return line;
    }, 90_000, 50);
    const ports = Array.from({ length: 6 }, (_, offset) => metricsPort + offset);
    const answers = await Promise.all(ports.map((port) => httpGet(port, '/readyz')));
    assert.deepEqual(answers.map(({ status }) => status), [200, 200, 200, 200, 200, 200], answers.map(({ body }) => body).join('\n'));
    assert.deepEqual(readyLine['metricsPorts'], { ingest: ports[0], 'sequencer-1': ports[1], 'sequencer-2': ports[2], gateway: ports[3] });
    assert.match(answers[3]!.body, new RegExp(`^ok worker 1: ready \\(port ${ports[4]}\\)\nok worker 2: ready \\(port ${ports[5]}\\)$`, 'm'));
    assert.equal(answers.filter(({ body }) => /^ok role: active/m.test(body)).length, 1, 'one sequencer is active');

    const linesAtReady = lines.length;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const counterLines = lines.slice(linesAtReady).filter(({ msg }) => msg === 'counters');
    assert.deepEqual(counterLines, [], 'idle for 7 counter intervals: no counters line');
  } finally {
    child.kill('SIGINT');
    const code = await exited;
    rmSync(dir, { recursive: true, force: true });
    assert.equal(code, 0, output.slice(-3000));
  }
});
