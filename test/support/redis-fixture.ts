import { setTimeout as delay } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { loadConfig, scanEveryMaster, type Config, type Logger } from '@follower-maze/shared';

/** The machine's Redis unless TEST_REDIS_URL names another. */
export const TEST_REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

export const silentLogger: Logger = pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' });

/** A key prefix of its own for each test, so tests can share one Redis; within KEY_PREFIX's grammar (no ':', 64 characters at most). */
export function uniquePrefix(name: string): string {
  return `fmtest-${name.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 48)}-${randomBytes(4).toString('hex')}`;
}

/** A configuration for in-process services: own prefix, ephemeral ports, quiet logs. */
export function testConfig(prefix: string, env: NodeJS.ProcessEnv = {}): Config {
  return loadConfig({
    REDIS_URL: TEST_REDIS_URL, KEY_PREFIX: prefix, LISTEN_HOST: '127.0.0.1', EVENT_PORT: '0', CLIENT_PORT: '0', METRICS_PORT: '0',
    LOG_LEVEL: 'silent', METRICS_INTERVAL_MS: '600000', ...env,
  }, []);
}

export function testRedis(): Redis {
  return new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
}

/** Deletes every key under the prefix. */
export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  for await (const { node, keys } of scanEveryMaster(redis, `${prefix}:*`, 1000)) await node.del(...keys);
}

/**
 * Polls until the check passes or the time is up; the last failure is rethrown.
 * Give every `assert.ok` inside a message: without one, Node re-reads and re-parses the
 * test file to describe each failure, which blocks the event loop for seconds per poll.
 */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 5000, intervalMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await delay(intervalMs);
    }
  }
}
