import { setTimeout as delay } from 'node:timers/promises';
import type { RedisClient as Redis } from '@follower-maze/shared';
import {
  compareStreamIds, EVENT_LINES_FIELD, groupInfo, joinEventLines, Waiters, type IngestConfig, type Keys, type WaitReport,
} from '@follower-maze/shared';

/** While paused, how often the sequencer's progress is checked. */
const BACKLOG_POLL_MS = 10;
/** After Redis refused an append, how long before the oldest refused entry is tried again. */
const APPEND_RETRY_MS = 200;

/** One stream entry's worth of lines; `serial` is the order in which they were accepted. */
interface Entry {
  readonly serial: number;
  readonly lines: string[];
}

/**
 * Packs accepted event lines into stream entries (many events per XADD) and tells its
 * sources to pause while Redis or the sequencer is behind: too many appends awaiting
 * Redis, entries the sequencer has not read yet, or an append Redis refused.
 *
 * A refused append (OOM, READONLY, MISCONF, ...) is tried again before anything newer
 * is sent, so the stream's order stays the order of acceptance, give or take the few
 * appends that were already on their way (well inside the reorder window).
 */
export class StreamAppender {
  private pending: string[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private nextSerial = 0;
  private appendsInFlight = 0;
  /** Entries Redis refused, oldest first; while there is one, nothing newer is sent. */
  private refused: Entry[] = [];
  private retrying = false;
  /**
   * Ids this process appended that the consumer group has not handed out yet, oldest
   * first. Counted here, from the group's `last-delivered-id`, rather than taken from its
   * `lag`: Redis may report a wrong `lag` (after an AOF reload, say), and a wrong signal
   * here would hold the source for ever.
   */
  private unreadIds: string[] = [];
  private pollTimer: NodeJS.Timeout | undefined;
  private readonly idle = new Waiters();
  private wasBlocked = false;
  private closed = false;
  eventsAppended = 0;
  entriesAppended = 0;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly config: IngestConfig,
    /** Called with true when sources must stop reading, false when they may go on. */
    private readonly onBackPressure: (paused: boolean) => void,
    /** Called for every append Redis did not take. */
    private readonly onRefused: (error: Error) => void,
    private readonly waits: WaitReport,
  ) {}

  get unreadEntries(): number {
    return this.unreadIds.length;
  }

  get blocked(): boolean {
    return this.refused.length > 0 || this.appendsInFlight >= this.config.maxAppendsInFlight ||
      this.unreadEntries > this.config.maxUnreadEntries;
  }

  add(line: string): void {
    this.pending.push(line);
    if (this.pending.length >= this.config.maxEventsPerEntry) this.flush();
    else this.flushTimer ??= setTimeout(() => this.flush(), this.config.flushIntervalMs);
  }

  /** Sends what is pending, unless refused entries must go first (the retry sends it after them). */
  flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.refused.length > 0) return;
    while (this.pending.length > 0) {
      const lines = this.pending.length <= this.config.maxEventsPerEntry
        ? this.pending.splice(0)
        : this.pending.splice(0, this.config.maxEventsPerEntry);
      this.appendsInFlight++;
      void this.append({ serial: this.nextSerial++, lines });
    }
    this.updateBackPressure();
  }

  /** Resolves once every accepted line is in the stream. */
  async drain(): Promise<void> {
    this.flush();
    while (this.appendsInFlight > 0 || this.refused.length > 0 || this.pending.length > 0) await this.idle.wait();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.pollTimer);
    clearTimeout(this.flushTimer);
    this.idle.wakeAll();
  }

  private async append(entry: Entry): Promise<void> {
    try {
      const results = await this.redis
        .pipeline()
        .xadd(this.keys.events, '*', EVENT_LINES_FIELD, joinEventLines(entry.lines))
        .xinfo('GROUPS', this.keys.events)
        .xlen(this.keys.events)
        .exec();
      const [appended, groups, length] = results ?? [];
      if (!appended || appended[0]) throw appended?.[0] ?? new Error('no reply to XADD');
      this.appended(entry, String(appended[1]));
      this.updateUnread(groups, length);
    } catch (error) {
      this.refuse(entry, error as Error);
    } finally {
      this.appendsInFlight--;
      this.settled();
    }
  }

  private appended(entry: Entry, id: string): void {
    this.unreadIds.push(id);
    this.eventsAppended += entry.lines.length;
    this.entriesAppended++;
    this.waits.end('redis-refuses');
  }

  private refuse(entry: Entry, error: Error): void {
    this.refused.push(entry);
    this.refused.sort((a, b) => a.serial - b.serial);
    this.refusedBy(error);
  }

  private refusedBy(error: Error): void {
    this.onRefused(error);
    this.waits.begin('redis-refuses', `Redis to accept appends (${error.message})`);
  }

  /** After every append: resume the source, start the in-order retry, or wake a drain. */
  private settled(): void {
    this.updateBackPressure();
    if (this.appendsInFlight > 0) return;
    if (this.refused.length > 0 && !this.retrying) void this.retryRefused();
    else this.idle.wakeAll();
  }

  /** Once nothing else is on its way: the refused entries, one at a time, oldest first. */
  private async retryRefused(): Promise<void> {
    this.retrying = true;
    while (this.refused.length > 0 && !this.closed) {
      const entry = this.refused[0]!;
      try {
        const id = await this.redis.xadd(this.keys.events, '*', EVENT_LINES_FIELD, joinEventLines(entry.lines));
        this.refused.shift();
        this.appended(entry, String(id));
      } catch (error) {
        this.refusedBy(error as Error);
        await delay(APPEND_RETRY_MS);
      }
    }
    this.retrying = false;
    this.flush();
    this.settled();
  }

  private updateUnread(groups: [Error | null, unknown] | undefined, length: [Error | null, unknown] | undefined): void {
    const lastDelivered = groups && !groups[0] ? groupInfo(groups[1], this.keys.sequencerGroup)?.get('last-delivered-id') : undefined;
    if (typeof lastDelivered === 'string') {
      this.unreadIds = this.unreadIds.filter((id) => compareStreamIds(id, lastDelivered) > 0);
    }
    // Entries no longer in the stream (an operator's reset, writes a crashed Redis lost) will never be read.
    const entries = length && !length[0] ? Number(length[1]) : Infinity;
    if (this.unreadIds.length > entries) this.unreadIds = this.unreadIds.slice(this.unreadIds.length - entries);
  }

  private updateBackPressure(): void {
    const blocked = this.blocked;
    if (blocked !== this.wasBlocked) {
      this.wasBlocked = blocked;
      this.onBackPressure(blocked);
    }
    if (this.appendsInFlight >= this.config.maxAppendsInFlight) {
      this.waits.begin('redis-answers', `Redis to answer ${this.appendsInFlight} appends`);
    } else {
      this.waits.end('redis-answers');
    }
    if (this.unreadEntries > this.config.maxUnreadEntries) {
      this.waits.begin('sequencer-backlog', `the sequencer to read the ${this.unreadEntries} entries appended before`);
      this.pollTimer ??= setTimeout(() => void this.pollBacklog(), BACKLOG_POLL_MS);
    } else {
      this.waits.end('sequencer-backlog');
    }
  }

  private async pollBacklog(): Promise<void> {
    try {
      const [groups, length] = (await this.redis.pipeline().xinfo('GROUPS', this.keys.events).xlen(this.keys.events).exec()) ?? [];
      this.updateUnread(groups, length);
    } catch {
      // Redis is away; poll again.
    }
    this.pollTimer = undefined;
    if (this.closed) return;
    this.updateBackPressure();
    if (!this.blocked && this.pending.length > 0) this.flush();
  }
}
