import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.ts';

test('defaults follow the protocol and are frozen', () => {
  const config = loadConfig({}, []);
  assert.equal(config.eventPort, 9090);
  assert.equal(config.clientPort, 9099);
  assert.equal(config.keyPrefix, 'fm');
  assert.equal(config.redisUrl, 'redis://127.0.0.1:6379');
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.gateway));
});

test('accepts the classic config.json through --config; the environment still wins', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'fm-config-')), 'config.json');
  writeFileSync(file, JSON.stringify({ eventListenerPort: 9190, clientListenerPort: 9199 }));
  const fromFile = loadConfig({}, ['node', 'main.ts', '--config', file]);
  assert.equal(fromFile.eventPort, 9190);
  assert.equal(fromFile.clientPort, 9199);
  assert.equal(loadConfig({ CLIENT_PORT: '7000' }, ['--config', file]).clientPort, 7000);
});

test('a bad setting names the variable and a valid example', () => {
  assert.throws(() => loadConfig({ EVENT_PORT: 'ninety' }, []), /EVENT_PORT.*9090/s);
  assert.throws(() => loadConfig({ LOG_LEVEL: 'loud' }, []), /LOG_LEVEL/);
  assert.throws(() => loadConfig({}, ['--config']), /--config needs a file/);
  assert.throws(() => loadConfig({ METRICS_PORT: '65534', GATEWAYS: '2' }, []), /METRICS_PORT=65534 with GATEWAYS=2.*METRICS_PORT=9464/s);
  assert.equal(loadConfig({ METRICS_PORT: '65533', GATEWAYS: '2' }, []).metricsPort, 65533);
});

test('by default nothing listens beyond this machine and only it may be the event source', () => {
  const config = loadConfig({}, []);
  assert.equal(config.listenHost, '127.0.0.1');
  assert.deepEqual(config.ingest.allowedSources.map((range) => range.text), ['127.0.0.0/8', '::1']);
  assert.equal(config.redisTlsCa, undefined);
  const opened = loadConfig({ LISTEN_HOST: '0.0.0.0', EVENT_SOURCE_ALLOW: '10.1.0.0/16, fd00::/8' }, []);
  assert.equal(opened.listenHost, '0.0.0.0');
  assert.deepEqual(opened.ingest.allowedSources.map((range) => range.text), ['10.1.0.0/16', 'fd00::/8']);
  assert.ok(Object.isFrozen(opened.ingest.allowedSources[0]));
});

test('EVENT_SOURCE_ALLOW: a wrong entry is named, with the variable and a valid example', () => {
  assert.throws(() => loadConfig({ EVENT_SOURCE_ALLOW: '127.0.0.1, 10.0.0.1/8' }, []), /EVENT_SOURCE_ALLOW.*'10\.0\.0\.1\/8'.*network would be 10\.0\.0\.0\/8.*example.*127\.0\.0\.1,10\.0\.0\.0\/8/s);
  assert.throws(() => loadConfig({ EVENT_SOURCE_ALLOW: 'source.example' }, []), /EVENT_SOURCE_ALLOW.*'source\.example' is not an IPv4 or IPv6 address/s);
  assert.throws(() => loadConfig({ EVENT_SOURCE_ALLOW: '' }, []), /EVENT_SOURCE_ALLOW.*at least one/s);
});

test('KEY_PREFIX: names, and names in braces (a Redis Cluster hash tag); nothing that SCAN MATCH reads as a pattern or that extends another prefix', () => {
  for (const prefix of ['fm', 'FM-2', 'a', 'fm_test.1', '{fm}', 'x'.repeat(64)]) assert.equal(loadConfig({ KEY_PREFIX: prefix }, []).keyPrefix, prefix);
  for (const prefix of ['', 'fm:a', 'fm*', 'f?', 'fm[1]', 'fm\\', 'f m', '-fm', '{fm', 'fm}', '{{fm}}', 'a{fm}', '{}', 'x'.repeat(65), 'fm\n']) {
    assert.throws(() => loadConfig({ KEY_PREFIX: prefix }, []), /"KEY_PREFIX" must be 1 to 64 letters.*glob character.*example.*: fm$/s, JSON.stringify(prefix));
  }
});

test('REDIS_URL: redis:// or rediss://, and an error never repeats its value (it may hold a password)', () => {
  assert.equal(loadConfig({ REDIS_URL: 'rediss://fm:pw@redis.example:6380/1' }, []).redisUrl, 'rediss://fm:pw@redis.example:6380/1');
  for (const url of ['http://fm:hunter2@redis.example', 'hunter2:x@redis.example']) {
    assert.throws(() => loadConfig({ REDIS_URL: url }, []), (error: Error) =>
      /REDIS_URL.*should start with redis:\/\/ or, for TLS, rediss:\/\//s.test(error.message) && !error.message.includes('hunter2'));
  }
  assert.throws(() => loadConfig({ REDIS_URL: 'hunter2 at redis.example' }, []), (error: Error) =>
    /REDIS_URL.*should be a URL/s.test(error.message) && !error.message.includes('hunter2'));
});

test('REDIS_TLS_CA_FILE: read once at start-up, only with rediss://', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fm-config-'));
  const file = join(dir, 'ca.pem');
  try {
    writeFileSync(file, '-----BEGIN CERTIFICATE-----\n...\n');
    const config = loadConfig({ REDIS_URL: 'rediss://127.0.0.1:6380', REDIS_TLS_CA_FILE: file }, []);
    assert.equal(config.redisTlsCa, '-----BEGIN CERTIFICATE-----\n...\n');
    assert.throws(() => loadConfig({ REDIS_URL: 'rediss://127.0.0.1:6380', REDIS_TLS_CA_FILE: `${file}.missing` }, []), /REDIS_TLS_CA_FILE.*cannot be read.*ENOENT/s);
    assert.throws(() => loadConfig({ REDIS_TLS_CA_FILE: file }, []), /REDIS_TLS_CA_FILE is set, so REDIS_URL must be a TLS one, for example rediss:\/\//);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
