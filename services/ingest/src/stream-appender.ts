import { setTimeout as delay } from 'node:timers/promises';
import type { RedisClient as Redis } from '@follower-maze/shared';
import {
  compareStreamIds, EVENT_LINES_FIELD, groupInfo, joinEventLines, Waiters, type IngestConfig, type Keys, type WaitReport,
} from '@follower-maze/shared';

/** How the appender reports what happens to its appends. */
export interface AppendOutlets {
  /** Sources must stop reading (true) or may go on (false). */
  backPressure(paused: boolean): void;
  /** An append Redis did not take. */
  refused(error: Error): void;
  /** A WAIT that saw fewer replicas than REDIS_WAIT_REPLICAS take the appends before it (its reply, or its error). */
  waitFellShort(replicas: number | Error): void;
}

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
 *
 * With REDIS_WAIT_REPLICAS, appends count as done only once that many replicas have
 * them: Redis replicates asynchronously, so a master that dies right after it
 * acknowledged an append loses it with the failover to its replica, and the event source
 * never sends it again. One WAIT follows each group of appends sent together (in the
 * same pipeline, so on the stream's master connection, also on a cluster), not one per
 * event.
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
  /**
   * The last WAIT saw too few replicas: until the stream's master has enough again (ROLE
   * says so), groups go without WAIT. A master promoted by a failover has no replica
   * until one joins it, and each WAIT would then hold its group for the whole timeout, for
   * nothing: the ingest crawled at one group per REDIS_WAIT_TIMEOUT_MS.
   */
  private replicasShort = false;
  eventsAppended = 0;
  entriesAppended = 0;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly config: IngestConfig,
    private readonly outlets: AppendOutlets,
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
    if (this.pending.length > 0) {
      const group: Entry[] = [];
      while (this.pending.length > 0) {
        const lines = this.pending.length <= this.config.maxEventsPerEntry
          ? this.pending.splice(0)
          : this.pending.splice(0, this.config.maxEventsPerEntry);
        group.push({ serial: this.nextSerial++, lines });
      }
      this.appendsInFlight += group.length;
      void this.append(group);
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

  /** The entries in one round trip; each is appended, or kept to be tried again. */
  private async append(group: readonly Entry[]): Promise<void> {
    try {
      const refusals = await this.send(group);
      group.forEach((entry, index) => {
        const error = refusals[index];
        if (error) this.refuse(entry, error);
      });
    } catch (error) {
      for (const entry of group) this.refuse(entry, error as Error);
    } finally {
      this.appendsInFlight -= group.length;
      this.settled();
    }
  }

  /**
   * Appends the entries in one pipeline, with the stream's progress read after them and,
   * with REDIS_WAIT_REPLICAS, one WAIT for the replicas last; they count as appended once
   * it answers. Returns, for each entry, the error Redis refused it with, if it did.
   */
  private async send(entries: readonly Entry[]): Promise<(Error | undefined)[]> {
    const { events } = this.keys;
    const { waitReplicas, waitTimeoutMs } = this.config;
    const pipeline = this.redis.pipeline();
    for (const entry of entries) pipeline.xadd(events, '*', EVENT_LINES_FIELD, joinEventLines(entry.lines));
    pipeline.xinfo('GROUPS', events).xlen(events);
    // After the stream's commands: on a cluster, the pipeline goes to the stream's master. What the
    // reply is follows from what was sent, not from `replicasShort` then: other groups' replies may change it meanwhile.
    const askRole = waitReplicas > 0 && this.replicasShort;
    if (askRole) pipeline.role();
    else if (waitReplicas > 0) pipeline.wait(waitReplicas, waitTimeoutMs);
    const results = (await pipeline.exec()) ?? [];
    const refusals = entries.map((entry, index) => {
      const [error, id] = results[index] ?? [new Error('no reply to XADD'), undefined];
      if (!error) this.appended(entry, String(id));
      return error ?? undefined;
    });
    const [groups, length, replication] = results.slice(entries.length);
    this.updateUnread(groups, length);
    if (replication && askRole) this.replicasBack(replication);
    else if (replication) this.replicated(replication);
    return refusals;
  }

  /**
   * A WAIT that saw too few replicas (or failed) is said and counted, and the appends
   * count as done all the same: they are in the master's stream, where the sequencer
   * reads them, and holding them back for a replica that is down would stop the
   * deployment. Groups then go without WAIT until the master has enough replicas again.
   */
  private replicated([error, replicas]: [Error | null, unknown]): void {
    const { waitReplicas } = this.config;
    if (!error && Number(replicas) >= waitReplicas) {
      this.waits.end('replicas');
      return;
    }
    this.replicasShort = true;
    this.outlets.waitFellShort(error ?? Number(replicas));
    const seen = error ? `WAIT failed: ${error.message}` : `${Number(replicas)} took the last appends within ${this.config.waitTimeoutMs} ms`;
    this.waits.begin('replicas', `${waitReplicas} replicas to take the appends (${seen})`);
  }

  /** ROLE of the stream's master (`master`, offset, replicas): with enough replicas, the next group waits for them again. */
  private replicasBack([error, role]: [Error | null, unknown]): void {
    const [kind, , replicas] = (!error && Array.isArray(role) ? role : []) as [string?, unknown?, unknown[]?];
    if (kind === 'master' && (replicas?.length ?? 0) >= this.config.waitReplicas) this.replicasShort = false;
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
    this.outlets.refused(error);
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
      const [error] = await this.send([this.refused[0]!]).catch((failure: Error) => [failure]);
      if (error) {
        this.refusedBy(error);
        await delay(APPEND_RETRY_MS);
      } else {
        this.refused.shift();
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
      this.outlets.backPressure(blocked);
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
