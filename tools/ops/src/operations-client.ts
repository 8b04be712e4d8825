import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { keysFor, OPERATIONS_QUEUE, type Keys, type Operation, type ResetRequest } from '@follower-maze/shared';
import { readWaitReports } from './wait-reports.ts';

/**
 * A connection of this short-lived client: its failures reach the caller through the
 * commands that fail, so its error events (which ioredis would otherwise print as raw
 * stack traces, once per reconnection attempt) need no more than a listener.
 */
function clientConnection(redisUrl: string, maxRetriesPerRequest: number | null): Redis {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest });
  redis.on('error', () => undefined);
  return redis;
}

/**
 * Asks the active sequencer to carry out an operation, as a BullMQ job, and waits for
 * its result: the job waits in the queue until a sequencer is active.
 */
export async function requestOperation(redisUrl: string, keyPrefix: string, operation: Operation, timeoutMs: number): Promise<unknown> {
  const { jobsPrefix } = keysFor(keyPrefix);
  const connection = clientConnection(redisUrl, null);
  // BullMQ leaves connections it was given open: both are closed below.
  const eventsConnection = clientConnection(redisUrl, null);
  const queue = new Queue(OPERATIONS_QUEUE, { connection, prefix: jobsPrefix });
  const events = new QueueEvents(OPERATIONS_QUEUE, { connection: eventsConnection, prefix: jobsPrefix });
  queue.on('error', () => undefined);
  events.on('error', () => undefined);
  try {
    await events.waitUntilReady();
    const data: ResetRequest | Record<string, never> =
      operation === 'reset' ? { epoch: Number((await connection.hget(keysFor(keyPrefix).position, 'epoch')) ?? 0) } : {};
    const job = await queue.add(operation, data, { attempts: 3, backoff: { type: 'fixed', delay: 500 }, removeOnComplete: 100, removeOnFail: 100 });
    try {
      return await job.waitUntilFinished(events, timeoutMs);
    } catch (error) {
      // Not carried out in time (no sequencer active?): it must not run later by surprise.
      await job.remove().catch(() => undefined);
      throw error;
    }
  } finally {
    await events.close();
    await queue.close();
    connection.disconnect();
    eventsConnection.disconnect();
  }
}

/** Skipped ranges shown by `status`, newest first. */
const SHOWN_SKIPPED_RANGES = 5;

/** Every process's current waits, as sentences: "sequencer-host-42: waiting for event 1635764 since 21:01:03 (40 s)". */
export async function readWaits(redis: Redis, keys: Keys): Promise<string[]> {
  return (await readWaitReports(redis, keys)).map(
    (wait) => `${wait.process}: waiting for ${wait.what} since ${wait.since} (${Math.round(wait.forMs / 1000)} s)`,
  );
}

/** What an operator wants to see first: position, lease, what each process waits for, backlog, gateways, rejections. */
export async function readStatus(redisUrl: string, keyPrefix: string): Promise<Record<string, unknown>> {
  const keys = keysFor(keyPrefix);
  const redis = clientConnection(redisUrl, 1);
  try {
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
  } finally {
    redis.disconnect();
  }
}
