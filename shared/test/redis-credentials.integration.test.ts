import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { pino } from 'pino';
import { connectRedis, disconnectRedis } from '../src/redis.ts';
import { RedisServer } from '../../tools/stack/src/redis-server.ts';
import { freePorts } from '../../tools/stack/src/free-ports.ts';

/** A Redis of its own with a password, and connections that give it the wrong one. */
const dir = mkdtempSync(join(tmpdir(), 'fm-redis-credentials-'));
const WRONG_PASSWORD = 'wrong-Kq8vX2';
let server: RedisServer;

before(async () => {
  const [port] = await freePorts(1);
  server = new RedisServer({ port: port!, dataDir: dir, appendfsync: 'no', password: 'right-Zp4wL9' });
  await server.start();
});
after(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('a refused password reaches callers and the log without the password, and is said once, naming Redis without it', async () => {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  const url = new URL(server.url);
  url.password = WRONG_PASSWORD;
  const connections = ['first', 'second'].map((name) => connectRedis({ redisUrl: url.href }, name, logger, { maxRetriesPerRequest: 1 }));
  try {
    const refusals = await Promise.all(connections.map((redis) => redis.ping().then(() => assert.fail('PING answered'), (error: Error) => error)));
    for (const refusal of refusals) {
      assert.match(refusal.message, /WRONGPASS/);
      assert.ok(!inspect(refusal, { depth: 5 }).includes(WRONG_PASSWORD), `a caller's error shows the password: ${inspect(refusal)}`);
    }
    const said = lines.filter((line) => line['msg'] === 'Redis refused the credentials in REDIS_URL: check its user and password');
    assert.equal(said.length, 1, 'one line for both connections');
    assert.equal(said[0]!['redis'], `redis://:***@127.0.0.1:${url.port}`);
    assert.ok(!JSON.stringify(lines).includes(WRONG_PASSWORD));
  } finally {
    for (const redis of connections) await disconnectRedis(redis);
  }
});
