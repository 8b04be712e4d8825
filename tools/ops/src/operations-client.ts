import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { keysFor, OPERATIONS_QUEUE, type Operation } from '@follower-maze/shared';

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
    const job = await queue.add(operation, {}, { attempts: 3, backoff: { type: 'fixed', delay: 500 }, removeOnComplete: 100, removeOnFail: 100 });
    return await job.waitUntilFinished(events, timeoutMs);
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
