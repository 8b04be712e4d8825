import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectRedis, keysFor } from '@follower-maze/shared';
import { freePorts } from '../../../tools/stack/src/free-ports.ts';
import { StreamReader } from '../src/stream-reader.ts';
import { silentLogger } from '../../../test/support/redis-fixture.ts';

test('close() settles a read waiting for a Redis that is away (ioredis\'s disconnect between reconnection attempts does not)', async () => {
  const [port] = await freePorts(1);
  const redis = connectRedis({ redisUrl: `redis://127.0.0.1:${port}` }, 'test-reader', silentLogger);
  const reader = new StreamReader(redis, keysFor('fmtest-reader'), 10, 'token', '0');
  const read = reader.read(1000);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.notEqual(redis.status, 'ready', 'nothing listens: the connection keeps trying');
  reader.close();
  const settled = await Promise.race([
    read.then(() => 'resolved', () => 'rejected'),
    new Promise((resolve) => setTimeout(() => resolve('still waiting'), 1000)),
  ]);
  assert.equal(settled, 'rejected');
});
