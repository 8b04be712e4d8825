import { Redis, type ChainableCommander, type RedisOptions } from 'ioredis';
import type { Logger } from './logger.ts';
import { ThrottledWarning } from './throttled-warning.ts';

/** Longest pause between two reconnection attempts. */
const MAX_RECONNECT_DELAY_MS = 2000;

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
  watchRedisErrors(redis, name, logger);
  return redis;
}

/**
 * Logs a connection's troubles, one line per interval however long an outage lasts.
 * Every connection needs it, duplicates too (they do not inherit listeners): ioredis
 * prints a raw stack trace for an error nobody listens to.
 */
export function watchRedisErrors(redis: Redis, name: string, logger: Logger): void {
  const warning = new ThrottledWarning(logger, 'redis connection error');
  redis.on('error', (error: Error) => warning.warn({ connection: name, err: error.message }));
  redis.on('reconnecting', () => logger.debug({ connection: name }, 'redis reconnecting'));
}

/** Closes a connection politely, or drops it when Redis is not there to answer. */
export async function disconnectRedis(redis: Redis): Promise<void> {
  if (redis.status === 'ready') {
    await redis.quit().catch(() => redis.disconnect());
  } else {
    redis.disconnect();
  }
}

/**
 * Runs a MULTI/EXEC and returns each command's reply. ioredis resolves a transaction
 * whose commands failed (OOM, READONLY) with the errors among the replies: they are
 * thrown here, as is a discarded transaction.
 */
export async function execTransaction(transaction: ChainableCommander): Promise<unknown[]> {
  const replies = await transaction.exec();
  if (!replies) throw new Error('the transaction was discarded');
  const failure = replies.find(([error]) => error)?.[0];
  if (failure) throw failure;
  return replies.map(([, reply]) => reply);
}
