import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
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
});
