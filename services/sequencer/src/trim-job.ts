import { Queue, Worker } from 'bullmq';
import type { RedisClient as Redis } from '@follower-maze/shared';
import { closeWithin, duplicateClient, ThrottledWarning, watchRedisErrors, type Keys, type Logger } from '@follower-maze/shared';
import { restWorkerOnErrors } from './worker-errors.ts';

const QUEUE = 'maintenance';
/** How long BullMQ may take to close before its connections are simply dropped. */
const CLOSE_LIMIT_MS = 2000;
const TRIM_JOB = 'trim-events';
/**
 * How long a trim holds its job's lock, and how often a worker looks for jobs whose lock
 * lapsed. A trim takes milliseconds, but a sequencer that stops (closing its worker
 * without waiting) or dies mid-trim leaves its job active, and the deduplicated trim
 * requests wait behind it: with BullMQ's defaults (30 s) nothing was trimmed for up to
 * half a minute after a restart.
 */
const TRIM_LOCK_MS = 2000;
const STALLED_CHECK_INTERVAL_MS = 1000;

/**
 * Trims the event stream behind the committed position, and the delivery log behind
 * the slowest gateway, as a BullMQ job: it runs beside the hot path and shows up in
 * BullMQ's tooling. Only stream entries below the committed `trimId` (all acknowledged)
 * and deliveries every live gateway has received (below `deliveryFloor`) are removed.
 *
 * Every sequencer process asks for a trim every interval, by its own timer; the job is
 * deduplicated while one waits or runs, so any number of them make one trim at a time.
 * A BullMQ job scheduler would date each next run by the clock of the host that
 * scheduled it and start it when a worker's clock reached that date: after a failover to
 * a host whose clock is behind, nothing would be trimmed for the difference.
 */
export class TrimJob {
  private readonly queue: Queue;
  private readonly worker: Worker;
  /** BullMQ leaves connections it was given open; these are ours to close. */
  private readonly connections: Redis[];
  private readonly requestFailed: ThrottledWarning;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly intervalMs: number,
    logger: Logger,
  ) {
    this.connections = [duplicateClient(redis), duplicateClient(redis)];
    this.connections.forEach((connection, index) => watchRedisErrors(connection, `sequencer-trim-${index}`, logger));
    const [queueConnection, workerConnection] = this.connections as [Redis, Redis];
    this.queue = new Queue(QUEUE, { connection: queueConnection, prefix: keys.jobsPrefix });
    const queueWarning = new ThrottledWarning(logger, 'maintenance queue error');
    this.queue.on('error', (error) => queueWarning.warn({ err: error.message }));
    this.requestFailed = new ThrottledWarning(logger, 'could not ask for a trim');
    this.worker = new Worker(QUEUE, () => this.trim(), {
      connection: workerConnection,
      prefix: keys.jobsPrefix,
      concurrency: 1,
      lockDuration: TRIM_LOCK_MS,
      stalledInterval: STALLED_CHECK_INTERVAL_MS,
    });
    const failure = new ThrottledWarning(logger, 'maintenance job failed');
    this.worker.on('failed', (job, error) => failure.warn({ job: job?.name, err: error.message }));
    restWorkerOnErrors(this.worker, 'maintenance', logger);
  }

  async start(): Promise<void> {
    // Left by an earlier version, which scheduled trims that way.
    await this.queue.removeJobScheduler(TRIM_JOB);
    this.timer = setInterval(() => void this.request(), this.intervalMs);
  }

  /** A failed request needs no retry: the next interval asks again. */
  private async request(): Promise<void> {
    await this.queue
      .add(TRIM_JOB, {}, { deduplication: { id: TRIM_JOB }, removeOnComplete: true, removeOnFail: 100 })
      .catch((error: Error) => this.requestFailed.warn({ err: error.message }));
  }

  /** Returns how many entries were removed from the event stream and the delivery log. */
  async trim(): Promise<number> {
    const [trimId, deliveryFloor] = await this.redis.hmget(this.keys.position, 'trimId', 'deliveryFloor');
    const events = trimId ? await this.redis.xtrim(this.keys.events, 'MINID', trimId) : 0;
    const deliveries = deliveryFloor ? await this.redis.xtrim(this.keys.deliveries, 'MINID', deliveryFloor) : 0;
    return events + deliveries;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await closeWithin(this.worker.close(true), CLOSE_LIMIT_MS);
    await closeWithin(this.queue.close(), CLOSE_LIMIT_MS);
    for (const connection of this.connections) connection.disconnect();
  }
}
