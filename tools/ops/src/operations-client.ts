import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { keysFor, OPERATIONS_QUEUE, type Operation, type ResetRequest } from '@follower-maze/shared';

/**
 * Asks the active sequencer to carry out an operation, as a BullMQ job, and waits for
 * its result: the job waits in the queue until a sequencer is active.
 */
export async function requestOperation(redisUrl: string, keyPrefix: string, operation: Operation, timeoutMs: number): Promise<unknown> {
  const { jobsPrefix } = keysFor(keyPrefix);
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  // BullMQ leaves connections it was given open: both are closed below.
  const eventsConnection = connection.duplicate();
  const queue = new Queue(OPERATIONS_QUEUE, { connection, prefix: jobsPrefix });
  const events = new QueueEvents(OPERATIONS_QUEUE, { connection: eventsConnection, prefix: jobsPrefix });
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

/** What an operator wants to see first: position, lease, backlog, gateways, rejections. */
export async function readStatus(redisUrl: string, keyPrefix: string): Promise<Record<string, unknown>> {
  const keys = keysFor(keyPrefix);
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
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
    return { position, leaseHolder, streamLength, pendingEntries: pending[0], deliveryLogLength, gateways, rejected };
  } finally {
    redis.disconnect();
  }
}
