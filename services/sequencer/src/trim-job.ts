import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Keys, Logger } from '@follower-maze/shared';

const QUEUE = 'maintenance';
const TRIM_JOB = 'trim-events';

/**
 * Trims the event stream behind the committed position, as a scheduled BullMQ job:
 * it runs beside the hot path, is retried when Redis hiccups, and shows up in BullMQ's
 * tooling. Only entries below the committed `trimId` are removed; they are acknowledged.
 */
export class TrimJob {
  private readonly queue: Queue;
  private readonly worker: Worker;
  /** BullMQ leaves connections it was given open; these are ours to close. */
  private readonly connections: Redis[];

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly intervalMs: number,
    logger: Logger,
  ) {
    this.connections = [redis.duplicate(), redis.duplicate()];
    const [queueConnection, workerConnection] = this.connections as [Redis, Redis];
    this.queue = new Queue(QUEUE, { connection: queueConnection, prefix: keys.jobsPrefix });
    this.worker = new Worker(QUEUE, () => this.trim(), {
      connection: workerConnection,
      prefix: keys.jobsPrefix,
      concurrency: 1,
    });
    this.worker.on('failed', (job, error) => logger.warn({ job: job?.name, err: error.message }, 'maintenance job failed'));
    this.worker.on('error', (error) => logger.warn({ err: error.message }, 'maintenance worker error'));
  }

  async start(): Promise<void> {
    await this.queue.upsertJobScheduler(
      TRIM_JOB,
      { every: this.intervalMs },
      { name: TRIM_JOB, opts: { removeOnComplete: 100, removeOnFail: 100, attempts: 3, backoff: { type: 'exponential', delay: 200 } } },
    );
  }

  /** Returns how many entries were removed. */
  async trim(): Promise<number> {
    const trimId = await this.redis.hget(this.keys.position, 'trimId');
    if (!trimId) return 0;
    return this.redis.xtrim(this.keys.events, 'MINID', trimId);
  }

  async close(): Promise<void> {
    await this.worker.close();
    await this.queue.close();
    for (const connection of this.connections) connection.disconnect();
  }
}
