import type { RedisClient as Redis } from './redis.ts';
import type { Logger } from './logger.ts';
import { ThrottledWarning } from './throttled-warning.ts';

/** Newest rejections kept for operators in Redis, and so at most in memory: older ones could never be read. */
const KEPT_REJECTIONS = 10_000;
/** Rejections are written to Redis and logged in groups, so a flood of garbage costs few commands and log lines. */
const FLUSH_INTERVAL_MS = 1000;
/** Rejections per `LPUSH`: the argument list of one call must not grow with the input. */
const ENTRIES_PER_PUSH = 1000;
/** Up to this many rejections in one interval are logged one line each; more make one summary line. */
const LOGGED_INDIVIDUALLY = 5;
/** Longest input kept with a rejection, in characters. */
const MAX_INPUT_CHARS = 200;

export interface Rejection {
  readonly reason: string;
  /** The offending input, cut to a readable length. */
  readonly input: string;
}

/** The newest `capacity` items added since the last `take`, and how many there were in all. */
class NewestItems<T> {
  private items: T[] = [];
  /** Once full, the slot of the oldest item, which the next one overwrites. */
  private oldest = 0;
  private added = 0;

  constructor(private readonly capacity: number) {}

  get isEmpty(): boolean {
    return this.added === 0;
  }

  add(item: T): void {
    this.added++;
    if (this.items.length < this.capacity) {
      this.items.push(item);
      return;
    }
    this.items[this.oldest] = item;
    this.oldest = (this.oldest + 1) % this.capacity;
  }

  /** Empties the buffer: the kept items, oldest first, and the count of all that were added. */
  take(): { readonly items: T[]; readonly added: number } {
    const taken = { items: this.items.slice(this.oldest).concat(this.items.slice(0, this.oldest)), added: this.added };
    this.items = [];
    this.oldest = 0;
    this.added = 0;
    return taken;
  }
}

/**
 * Keeps rejected input where an operator can read it (`LRANGE <prefix>:rejected 0 -1`)
 * and logs it, in memory, Redis commands and log lines bounded however much bad input
 * comes: callers count every rejection themselves, this keeps the newest.
 */
export class RejectionLog {
  private pending = new NewestItems<Rejection>(KEPT_REJECTIONS);
  private timer: NodeJS.Timeout | undefined;
  /** The write under way. One at a time, so a Redis that does not answer holds one group, not one per interval. */
  private writing: Promise<void> | undefined;
  private readonly storeFailure: ThrottledWarning;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly service: string,
    private readonly logger: Logger,
  ) {
    this.storeFailure = new ThrottledWarning(logger, 'could not store rejections');
  }

  record(reason: string, input: string): void {
    this.pending.add({ reason, input: input.length > MAX_INPUT_CHARS ? `${input.slice(0, MAX_INPUT_CHARS)}…` : input });
    this.schedule();
  }

  /** Logs and stores what was recorded; resolves once it is written (or failed to be). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.isEmpty) return;
    const { items, added } = this.pending.take();
    this.log(items, added);
    this.writing = this.store(items);
    try {
      await this.writing;
    } finally {
      this.writing = undefined;
      if (!this.pending.isEmpty) this.schedule();
    }
  }

  private schedule(): void {
    if (this.timer === undefined && this.writing === undefined) this.timer = setTimeout(() => void this.flush(), FLUSH_INTERVAL_MS);
  }

  private log(kept: readonly Rejection[], added: number): void {
    if (added <= LOGGED_INDIVIDUALLY) {
      for (const rejection of kept) this.logger.warn(rejection, 'rejected input');
      return;
    }
    this.logger.warn({
      rejected: added, notKept: added - kept.length, newest: kept.slice(-LOGGED_INDIVIDUALLY),
    }, 'rejected input');
  }

  /** Oldest first, so the list reads newest first; trimmed in the same transaction. */
  private async store(rejections: readonly Rejection[]): Promise<void> {
    const at = new Date().toISOString();
    const transaction = this.redis.multi();
    for (let from = 0; from < rejections.length; from += ENTRIES_PER_PUSH) {
      const entries = rejections.slice(from, from + ENTRIES_PER_PUSH).map((r) => JSON.stringify({ at, service: this.service, ...r }));
      transaction.lpush(this.key, ...entries);
    }
    transaction.ltrim(this.key, 0, KEPT_REJECTIONS - 1);
    try {
      await transaction.exec();
    } catch (error) {
      this.storeFailure.warn({ err: (error as Error).message, lost: rejections.length });
    }
  }
}
