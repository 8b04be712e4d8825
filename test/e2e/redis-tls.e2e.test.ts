import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { freePorts } from '../../tools/stack/src/free-ports.ts';
import { waitUntilReady } from '../../tools/stack/src/readiness.ts';
import { Stack } from '../../tools/stack/src/stack.ts';
import { runVerification } from '../../tools/verify/src/index.ts';
import { CapturedProcess } from '../support/captured-process.ts';
import { TlsRedis } from '../support/tls-redis.ts';

const KEY_PREFIX = 'fm-tls';
const USER = 'follower-maze';

test('over TLS (rediss://, the authority from REDIS_TLS_CA_FILE) as an ACL user: ingest, sequencer and gateway pass a checker run, and ops reads the status', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fm-tls-'));
  const [redisPort, eventPort, clientPort] = (await freePorts(3)) as [number, number, number];
  const password = randomBytes(16).toString('hex');
  // What the services need and no more: their own keys and channels, no administration.
  const redis = await TlsRedis.start({
    dir, port: redisPort, aclUsers: [`user ${USER} on >${password} ~${KEY_PREFIX}:* &${KEY_PREFIX}:* +@all -@dangerous +info`],
  });
  const redisUrl = `rediss://${USER}:${password}@127.0.0.1:${redisPort}`;
  const logFile = join(dir, 'services.log');
  const logFd = openSync(logFile, 'a');
  const env = { KEY_PREFIX, REDIS_TLS_CA_FILE: redis.caFile, EVENT_PORT: String(eventPort), LISTEN_HOST: '127.0.0.1', LOG_LEVEL: 'info' };
  const stack = new Stack({
    redisUrl, redisPort: 0, dataDir: '', env, gatewayPorts: [clientPort], sequencers: 1, stdio: ['ignore', logFd, logFd], restart: false,
  }, pino({ base: { service: 'stack' } }, pino.destination({ fd: logFd, sync: true })));
  try {
    const untrusting = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    const refusal = new Promise<Error>((resolve) => untrusting.once('error', resolve));
    untrusting.connect().catch(() => undefined);
    assert.match((await refusal).message, /self-signed certificate in certificate chain/, 'without the authority the certificate is refused');
    untrusting.disconnect();

    await stack.start();
    await waitUntilReady({ redisUrl, redisTlsCa: readFileSync(redis.caFile, 'utf8'), keyPrefix: KEY_PREFIX, eventPort, gateways: 1 });
    const report = await runVerification({
      eventHost: '127.0.0.1', eventPort, clientHost: '127.0.0.1', clientPorts: [clientPort], totalEvents: 10_000, concurrencyLevel: 20,
      numberOfUsers: 200, randomSeed: 666, timeoutMs: 20_000, maxEventSourceBatchSize: 100, lineEnding: '\r\n',
    });
    assert.deepEqual(report.failures, []);
    assert.ok(report.ok && report.notificationsReceived > 0, 'notifications arrived');

    const status = await CapturedProcess.run('tools/ops/src/main.ts', ['status'], { ...process.env, ...env, REDIS_URL: redisUrl });
    assert.equal(status.code, 0, status.output);
    assert.equal((JSON.parse(status.output) as { position: { nextSeq: string } }).position.nextSeq, '10001');

    await stack.stop();
    const logs = readFileSync(logFile, 'utf8');
    assert.doesNotMatch(logs, /NOPERM|redis connection error|"level":50|"level":60/, 'no permission was missing, nothing failed');
    for (const output of [logs, status.output]) assert.ok(!output.includes(password), 'the password is never shown');
  } finally {
    await stack.stop();
    closeSync(logFd);
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
