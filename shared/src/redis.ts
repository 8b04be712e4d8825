import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from './logger.ts';

/** Longest pause between two reconnection attempts. */
const MAX_RECONNECT_DELAY_MS = 2000;
/** Reconnection errors are logged at most this often per connection, so an outage does not flood the log. */
const ERROR_LOG_INTERVAL_MS = 5000;

/**
 * A Redis connection that retries forever with backoff (commands wait in its queue
 * while it reconnects) and logs its troubles without crashing the process.
 */
export function connectRedis(url: string, name: string, logger: Logger, options: RedisOptions = {}): Redis {
  const redis = new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: null,
    retryStrategy: (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
    ...options,
  });
  let lastErrorLogMs = 0;
  redis.on('error', (error: Error) => {
    const now = Date.now();
    if (now - lastErrorLogMs < ERROR_LOG_INTERVAL_MS) return;
    lastErrorLogMs = now;
    logger.warn({ connection: name, err: error.message }, 'redis connection error');
  });
  redis.on('reconnecting', () => logger.debug({ connection: name }, 'redis reconnecting'));
  return redis;
}

/** Closes a connection politely, or drops it when Redis is not there to answer. */
export async function disconnectRedis(redis: Redis): Promise<void> {
  if (redis.status === 'ready') {
    await redis.quit().catch(() => redis.disconnect());
  } else {
    redis.disconnect();
  }
}
