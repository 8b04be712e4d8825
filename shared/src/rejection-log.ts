import type { Redis } from 'ioredis';
import type { Logger } from './logger.ts';

/** Newest rejections kept for operators in Redis. */
const KEPT_REJECTIONS = 10_000;
/** Rejections are written to Redis in groups, so a flood of garbage costs few commands. */
const FLUSH_INTERVAL_MS = 200;
/** Rejections logged individually per flush; the rest are only counted in the log line. */
const LOGGED_PER_FLUSH = 5;

export interface Rejection {
  readonly reason: string;
  /** The offending input, cut to a readable length. */
  readonly input: string;
}

/**
 * Keeps rejected input where an operator can read it (`LRANGE <prefix>:rejected 0 -1`)
 * and logs it without letting a flood of bad input flood the log.
 */
export class RejectionLog {
  private pending: Rejection[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly service: string,
    private readonly logger: Logger,
  ) {}

  record(reason: string, input: string): void {
    this.pending.push({ reason, input: input.length > 200 ? `${input.slice(0, 200)}…` : input });
    this.timer ??= setTimeout(() => void this.flush(), FLUSH_INTERVAL_MS);
  }

  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    for (const rejection of batch.slice(0, LOGGED_PER_FLUSH)) this.logger.warn(rejection, 'rejected input');
    if (batch.length > LOGGED_PER_FLUSH) this.logger.warn({ more: batch.length - LOGGED_PER_FLUSH }, 'more rejected input');
    const at = new Date().toISOString();
    const entries = batch.map((r) => JSON.stringify({ at, service: this.service, ...r }));
    try {
      await this.redis.multi().lpush(this.key, ...entries).ltrim(this.key, 0, KEPT_REJECTIONS - 1).exec();
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'could not store rejections');
    }
  }
}
