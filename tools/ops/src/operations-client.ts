import { Queue, QueueEvents } from 'bullmq';
import {
  closeWithin, hideCredentials, isCredentialsRefusal, keysFor, OPERATIONS_QUEUE,
  type Keys, type Operation, type RedisClient, type RedisTarget, type ResetRequest,
} from '@follower-maze/shared';
import { toolConnection } from '../../stack/src/tool-connection.ts';
import { readWaitReports } from './wait-reports.ts';

/** How long BullMQ may take to close before its connections are simply dropped. */
const CLOSE_LIMIT_MS = 1000;
/** `status` tries this many times more to connect before it says Redis is not there. */
const STATUS_CONNECT_ATTEMPTS = 2;
const RECONNECT_DELAY_MS = 200;

/**
 * A connection of this short-lived client: its failures reach the caller through the
 * commands that fail, so its error events (which ioredis would otherwise print as raw
 * stack traces, once per reconnection attempt) need no more than a listener.
 */
function clientConnection(target: RedisTarget, maxRetriesPerRequest: number | null, connectAttempts?: number): RedisClient {
  const redis = toolConnection(target, {
    maxRetriesPerRequest,
    ...(connectAttempts !== undefined && { retryStrategy: (attempt: number) => (attempt > connectAttempts ? null : RECONNECT_DELAY_MS) }),
  });
  redis.on('error', hideCredentials);
  return redis;
}

/** The target's key names: in the prefix's hash tag on a cluster, as the services name them. */
export function targetKeys(target: RedisTarget, keyPrefix: string): Keys {
  return keysFor(keyPrefix, target.redisClusterNodes !== undefined);
}

/**
 * Rejects when Redis refuses a connection's credentials: its connections retry for ever
 * (BullMQ wants them to), and would wait for a Redis that never lets them in.
 */
function credentialsRefused(connections: readonly RedisClient[]): Promise<never> {
  const refused = new Promise<never>((_, reject) => {
    const onError = (error: Error) => isCredentialsRefusal(error) && reject(error);
    // A cluster client reports its nodes' errors as `node error`.
    for (const connection of connections) connection.on('error', onError).on('node error', onError);
  });
  // A refusal after the race is decided (while closing) must not end the process as an unhandled rejection.
  refused.catch(() => undefined);
  return refused;
}

/**
 * Asks the active sequencer to carry out an operation, as a BullMQ job, and waits for
 * its result: the job waits in the queue until a sequencer is active.
 */
export async function requestOperation(target: RedisTarget, keyPrefix: string, operation: Operation, timeoutMs: number): Promise<unknown> {
  const keys = targetKeys(target, keyPrefix);
  const connection = clientConnection(target, null);
  // BullMQ leaves connections it was given open: both are closed below.
  const eventsConnection = clientConnection(target, null);
  const refused = credentialsRefused([connection, eventsConnection]);
  const queue = new Queue(OPERATIONS_QUEUE, { connection, prefix: keys.jobsPrefix });
  const events = new QueueEvents(OPERATIONS_QUEUE, { connection: eventsConnection, prefix: keys.jobsPrefix });
  queue.on('error', () => undefined);
  events.on('error', () => undefined);
  try {
    await Promise.race([events.waitUntilReady(), refused]);
    const data: ResetRequest | Record<string, never> =
      operation === 'reset' ? { epoch: Number((await connection.hget(keys.position, 'epoch')) ?? 0) } : {};
    const job = await queue.add(operation, data, { attempts: 3, backoff: { type: 'fixed', delay: 500 }, removeOnComplete: 100, removeOnFail: 100 });
    try {
      return await job.waitUntilFinished(events, timeoutMs);
    } catch (error) {
      // Not carried out in time (no sequencer active?): it must not run later by surprise.
      await job.remove().catch(() => undefined);
      throw error;
    }
  } finally {
    // BullMQ waits for ever to close what never connected (refused credentials).
    await closeWithin(events.close(), CLOSE_LIMIT_MS);
    await closeWithin(queue.close(), CLOSE_LIMIT_MS);
    connection.disconnect();
    eventsConnection.disconnect();
  }
}

/** Skipped ranges shown by `status`, newest first. */
const SHOWN_SKIPPED_RANGES = 5;

/** Every process's current waits, as sentences: "sequencer-host-42: waiting for event 1635764 since 21:01:03 (40 s)". */
export async function readWaits(redis: RedisClient, keys: Keys): Promise<string[]> {
  return (await readWaitReports(redis, keys)).map(
    (wait) => `${wait.process}: waiting for ${wait.what} since ${wait.since} (${Math.round(wait.forMs / 1000)} s)`,
  );
}

/** What an operator wants to see first: position, lease, what each process waits for, backlog, gateways, rejections. */
export async function readStatus(target: RedisTarget, keyPrefix: string): Promise<Record<string, unknown>> {
  const keys = targetKeys(target, keyPrefix);
  // A cluster client waits for its slot map whatever maxRetriesPerRequest says: it must give up connecting too.
  const redis = clientConnection(target, 1, STATUS_CONNECT_ATTEMPTS);
  try {
    return await Promise.race([statusOf(redis, keys), credentialsRefused([redis])]);
  } finally {
    redis.disconnect();
  }
}

async function statusOf(redis: RedisClient, keys: Keys): Promise<Record<string, unknown>> {
  const [position, leaseHolder, streamLength, deliveryLogLength, gateways, rejected] = await Promise.all([
    redis.hgetall(keys.position),
    redis.get(keys.sequencerLease),
    redis.xlen(keys.events),
    redis.xlen(keys.deliveries),
    redis.hgetall(keys.gateways),
    redis.llen(keys.rejected),
  ]);
  const pending = await redis.xpending(keys.events, keys.sequencerGroup).catch(() => [0]) as unknown[];
  const waiting = await readWaits(redis, keys);
  const skipped = (await redis.lrange(keys.skipped, 0, SHOWN_SKIPPED_RANGES - 1)).map((range) => JSON.parse(range) as unknown);
  return { position, leaseHolder, waiting, streamLength, pendingEntries: pending[0], deliveryLogLength, gateways, rejected, skipped };
}
