import type { Redis } from 'ioredis';
import { EVENT_LINES_FIELD, groupInfo, joinEventLines, Waiters, type IngestConfig, type Keys } from '@follower-maze/shared';

/** While paused, how often the sequencer's progress is checked. */
const BACKLOG_POLL_MS = 10;
/** After a failed append, how long before the kept lines are tried again. */
const APPEND_RETRY_MS = 200;

/**
 * Packs accepted event lines into stream entries (many events per XADD) and tells its
 * sources to pause while Redis or the sequencer is behind: too many appends awaiting
 * Redis, or too many entries the sequencer has not read yet.
 */
export class StreamAppender {
  private pending: string[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private appendsInFlight = 0;
  private unreadEntries = 0;
  private pollTimer: NodeJS.Timeout | undefined;
  private readonly idle = new Waiters();
  private wasBlocked = false;
  eventsAppended = 0;
  entriesAppended = 0;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly config: IngestConfig,
    /** Called with true when sources must stop reading, false when they may go on. */
    private readonly onBackPressure: (paused: boolean) => void,
    private readonly onError: (error: Error) => void,
  ) {}

  get blocked(): boolean {
    return this.appendsInFlight >= this.config.maxAppendsInFlight || this.unreadEntries > this.config.maxUnreadEntries;
  }

  add(line: string): void {
    this.pending.push(line);
    if (this.pending.length >= this.config.maxEventsPerEntry) this.flush();
    else this.flushTimer ??= setTimeout(() => this.flush(), this.config.flushIntervalMs);
  }

  flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.pending.length === 0) return;
    const lines = this.pending;
    this.pending = [];
    this.appendsInFlight++;
    this.updateBackPressure();
    void this.append(lines);
  }

  /** Resolves once every accepted line is in the stream. */
  async drain(): Promise<void> {
    this.flush();
    if (this.appendsInFlight === 0) return;
    await this.idle.wait();
  }

  close(): void {
    clearTimeout(this.pollTimer);
    clearTimeout(this.flushTimer);
  }

  private async append(lines: string[]): Promise<void> {
    try {
      // The connection retries through outages, so a failure here is not a connection problem:
      // surface it, and keep the lines for the next append rather than drop what was accepted.
      const results = await this.redis
        .pipeline()
        .xadd(this.keys.events, '*', EVENT_LINES_FIELD, joinEventLines(lines))
        .xinfo('GROUPS', this.keys.events)
        .exec();
      const [appended, groups] = results ?? [];
      if (appended?.[0]) throw appended[0];
      this.eventsAppended += lines.length;
      this.entriesAppended++;
      if (!groups?.[0]) this.unreadEntries = unreadEntriesOf(groups?.[1], this.keys.sequencerGroup);
    } catch (error) {
      this.pending = lines.concat(this.pending);
      this.flushTimer ??= setTimeout(() => this.flush(), APPEND_RETRY_MS);
      this.onError(error as Error);
    } finally {
      this.appendsInFlight--;
      this.updateBackPressure();
      if (this.appendsInFlight === 0) this.idle.wakeAll();
    }
  }

  private updateBackPressure(): void {
    const blocked = this.blocked;
    if (blocked !== this.wasBlocked) {
      this.wasBlocked = blocked;
      this.onBackPressure(blocked);
    }
    if (this.unreadEntries > this.config.maxUnreadEntries && !this.pollTimer) {
      this.pollTimer = setTimeout(() => void this.pollBacklog(), BACKLOG_POLL_MS);
    }
  }

  private async pollBacklog(): Promise<void> {
    try {
      this.unreadEntries = unreadEntriesOf(await this.redis.xinfo('GROUPS', this.keys.events), this.keys.sequencerGroup);
    } catch {
      // Redis is away; poll again.
    }
    this.pollTimer = undefined;
    this.updateBackPressure();
    if (!this.blocked && this.pending.length > 0) this.flush();
  }
}

/** The group's `lag`: entries appended that the sequencer has not read. */
function unreadEntriesOf(groupsReply: unknown, group: string): number {
  const lag = groupInfo(groupsReply, group)?.get('lag');
  return typeof lag === 'number' ? lag : 0;
}
