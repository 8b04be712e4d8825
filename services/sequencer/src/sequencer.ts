import { setTimeout as delay } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import {
  Counters, parseEvent, type Logger, type MazeEvent, type RejectionLog, type SequencerConfig, type WaitReport,
} from '@follower-maze/shared';
import { Batch, type CommitLimits } from './core/batch.ts';
import { InFlightWindow } from './core/in-flight-window.ts';
import { ReorderBuffer } from './core/reorder-buffer.ts';
import { Router } from './core/router.ts';
import type { CommitScript } from './commit-script.ts';
import { FencedError } from './fence.ts';
import type { DeliveryPublisher } from './publish-script.ts';
import { SEQUENCER_COUNTERS, type SequencerCounter, type SequencerMetrics, type TermState } from './sequencer-metrics.ts';
import type { StreamReader, StreamEntry } from './stream-reader.ts';

/** How long one read waits for new entries; bounds how long close() may take too. */
const READ_BLOCK_MS = 1000;
/** Pause after a failed read or commit before trying again (Redis is reconnecting). */
const RETRY_DELAY_MS = 200;
/** Longest wait for gateway progress before the window is checked again. */
const PROGRESS_WAIT_MS = 100;
/** Least time between two hints that the source seems to have started a new sequence. */
const RESET_HINT_INTERVAL_MS = 10_000;
const MIB = 1024 * 1024;

/** Missing sequence numbers given up on, by an operator or by the gap timeout. */
export interface SkippedRange {
  readonly from: number;
  readonly to: number;
  readonly reason: 'operator' | 'gap timeout';
}

export type SequencerExit = 'closed' | 'fenced';

/** What the sequencer needs to know of the gateways' progress. */
export interface GatewayProgress {
  /** Resolves when a gateway reports progress or goes away, or after `timeoutMs`. */
  progress(timeoutMs: number): Promise<void>;
  /** The last batch every live gateway has received (0 while one has not said; `latest` when there is no gateway). */
  slowestAcknowledged(latest: number): number;
}

/** Where the sequencer reports what it waits for and what it does, and keeps the ranges it skipped. */
export interface SequencerOutlets {
  readonly waits: WaitReport;
  readonly metrics: SequencerMetrics;
  readonly rejections: RejectionLog;
  /** Keeps a skipped range for operators (best effort: the log line is the record that always exists). */
  recordSkipped(range: SkippedRange): void;
}

/**
 * The single consumer of the event stream: restores order, applies the follow graph,
 * routes each notification to its recipients' channels and commits its position with
 * every batch. The loop runs until close().
 */
export class Sequencer implements TermState {
  readonly counters: Counters<SequencerCounter>;
  readonly router = new Router();
  readonly window = new InFlightWindow();
  private readonly reorder: ReorderBuffer<MazeEvent>;
  /** Stream entries read but not yet acknowledged, oldest first: id -> highest sequence number held. */
  private readonly openEntries = new Map<string, number>();
  private lastReadId = '0-0';
  /** The last batch committed with events in it. */
  private previousBatchSeq: number;
  /** The position Redis holds, as far as this sequencer knows: every commit must start from it. */
  private committedNextSeq: number;
  private closing = false;
  private lastResetHintMs = 0;
  private loop: Promise<SequencerExit> | undefined;
  /** The missing sequence number the sequencer waits at, with later events held, and since when. */
  private gap: { readonly seq: number; readonly sinceMs: number } | undefined;
  /** Operators' skip-gap requests, answered once the skip is committed. */
  private skipRequests: ((range: SkippedRange | undefined) => void)[] = [];
  private readonly limits: CommitLimits;
  /** Until the term's first step: the last batch committed before it may not have reached every gateway. */
  private lastBatchUnpublished: boolean;

  constructor(
    private readonly reader: StreamReader,
    private readonly committer: CommitScript,
    private readonly publisher: DeliveryPublisher,
    private readonly gateways: GatewayProgress,
    private readonly outlets: SequencerOutlets,
    private readonly config: SequencerConfig,
    private readonly logger: Logger,
    position: { readonly nextSeq: number; readonly batchSeq: number },
  ) {
    this.counters = new Counters(outlets.metrics.service, SEQUENCER_COUNTERS);
    this.limits = {
      maxEvents: config.maxCommitEvents, maxNotifications: config.maxCommitNotifications, maxBytes: config.maxCommitBytes,
      maxFollowKeys: config.maxCommitFollowKeys,
    };
    this.reorder = new ReorderBuffer(config.reorderWindow, position.nextSeq);
    this.previousBatchSeq = position.batchSeq;
    this.lastBatchUnpublished = position.batchSeq > 0;
    this.committedNextSeq = position.nextSeq;
  }

  get nextSeq(): number {
    return this.reorder.nextSeq;
  }

  get heldEvents(): number {
    return this.reorder.size;
  }

  get gapWaitMs(): number {
    return this.gap ? Date.now() - this.gap.sinceMs : 0;
  }

  get onlineUsers(): number {
    return this.router.presence.onlineUserCount;
  }

  unacknowledgedBytes(): ReadonlyMap<string, number> {
    return this.window.byGateway();
  }

  /** Runs the loop; resolves when it ends: closed, or refused because another sequencer took over. */
  start(): Promise<SequencerExit> {
    this.loop = this.run();
    return this.loop;
  }

  /** An operator's replay: read the pending entries again from the committed position. */
  replayPending(): void {
    this.reader.replayPending();
  }

  /** An operator's skip-gap: resolves with the range skipped once committed, or undefined when there was no gap. */
  skipGap(): Promise<SkippedRange | undefined> {
    return new Promise((resolve) => this.skipRequests.push(resolve));
  }

  async close(): Promise<void> {
    this.closing = true;
    this.reader.close();
    await this.loop;
    for (const answer of this.skipRequests.splice(0)) answer(undefined);
  }

  private async run(): Promise<SequencerExit> {
    while (!this.closing) {
      try {
        if (this.lastBatchUnpublished) await this.republishLastBatch();
        await this.step();
        this.outlets.waits.end('redis');
      } catch (error) {
        if (error instanceof FencedError) {
          this.logger.warn({ reason: error.message }, 'refused by the fence: stepping down');
          return 'fenced';
        }
        if (this.closing) break;
        this.retrying('Redis to answer reads', error as Error);
        await delay(RETRY_DELAY_MS);
      }
    }
    return 'closed';
  }

  /** Counted, and said by the wait report while it lasts: a retry every 200 ms must not be a log line every 200 ms. */
  private retrying(what: string, error: Error): void {
    this.counters.add('retries');
    this.logger.debug({ err: error.message }, `${what}: retrying`);
    this.outlets.waits.begin('redis', `${what} (${error.message})`);
  }

  /**
   * One read, one batch, one commit. While events are ready to release (a bounded batch
   * left some behind), nothing new is read: they go first, and the window does not fill.
   */
  private async step(): Promise<void> {
    if (!this.reorder.ready) {
      const entries = await this.reader.read(READ_BLOCK_MS);
      if (entries.length > 0) this.counters.add('entriesRead', entries.length);
      for (const entry of entries) this.absorb(entry);
    }
    const batch = new Batch();
    const route = (event: MazeEvent) => this.router.route(event, batch);
    const hasRoom = () => batch.hasRoom(this.limits);
    this.reorder.release(route, hasRoom);
    const skipped = this.skipGapIfDue();
    if (skipped) this.reorder.release(route, hasRoom);
    this.watchGap();
    await this.waitForRoom();
    const nextSeq = this.reorder.nextSeq;
    const ackIds: string[] = [];
    for (const [id, maxSeq] of this.openEntries) {
      if (maxSeq >= nextSeq) continue;
      ackIds.push(id);
      this.openEntries.delete(id);
    }
    if (batch.isEmpty && ackIds.length === 0) return;
    const trimId = this.openEntries.keys().next().value ?? this.lastReadId;
    const request = {
      batch, startNextSeq: this.committedNextSeq, nextSeq, ackIds, trimId, previousBatchSeq: this.previousBatchSeq,
      deliveryLogMinSeq: this.gateways.slowestAcknowledged(nextSeq - 1) + 1,
    };
    const commitStartedAt = performance.now();
    const { publication, published, bytesByUser } = await this.untilDone('Redis to accept the commit', () => this.committer.commit(request));
    this.outlets.metrics.commitDuration.observe((performance.now() - commitStartedAt) / 1000);
    this.committedNextSeq = nextSeq;
    this.counters.add('commits');
    if (skipped) this.skipped(skipped);
    if (batch.isEmpty) return;
    if (!published) await this.untilDone('Redis to take the deliveries', () => this.publisher.publish(publication));
    this.previousBatchSeq = nextSeq - 1;
    this.recordInFlight(nextSeq - 1, bytesByUser);
    let notifications = 0;
    for (const userNotifications of batch.notifications.values()) notifications += userNotifications.length;
    this.counters.add('eventsApplied', batch.events);
    this.counters.add('notificationsRouted', notifications);
    this.outlets.metrics.batchEvents.observe(batch.events);
    this.outlets.metrics.batchNotifications.observe(notifications);
  }

  /**
   * The batch is already applied in memory, so its commit and its publishing are
   * retried until they land: giving up would leave memory ahead of Redis, or gateways
   * without the batch. Repeating either is harmless: the commit script changes nothing
   * for a batch already committed (compare-and-set on the position), and gateways drop
   * notifications they have already sent.
   */
  private async untilDone<T>(what: string, action: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await action();
      } catch (error) {
        if (this.closing || error instanceof FencedError) throw error;
        this.retrying(what, error as Error);
        await delay(RETRY_DELAY_MS);
      }
    }
  }

  /**
   * The last committed batch may have been only partly published (the sequencer that
   * committed it stopped in between): publishing it again before anything newer lets
   * every gateway have it, in order, whatever it got before.
   */
  private async republishLastBatch(): Promise<void> {
    const publication = await this.publisher.logged(this.previousBatchSeq);
    if (publication) await this.publisher.publish(publication);
    this.lastBatchUnpublished = false;
  }

  /**
   * Puts the entry's events into the reorder buffer; rejects what cannot be placed.
   * An entry read again while it is still open (an operator's replay) is already in.
   */
  private absorb(entry: StreamEntry): void {
    if (this.openEntries.has(entry.id)) return;
    this.lastReadId = entry.id;
    let maxSeq = 0;
    for (const line of entry.lines) {
      const parsed = parseEvent(line);
      if (!parsed.ok) {
        this.counters.add('malformedEvents');
        this.outlets.rejections.record(`malformed event in stream: ${parsed.reason}`, line);
        continue;
      }
      const { seq } = parsed.event;
      const outcome = this.reorder.insert(seq, parsed.event);
      if (outcome === 'accepted') {
        maxSeq = Math.max(maxSeq, seq);
      } else if (entry.replayed && outcome !== 'beyond-window') {
        // Read before a crash or takeover: applied already, or waiting in the buffer.
        this.counters.add('replayedEvents');
      } else if (outcome === 'beyond-window') {
        this.counters.add('beyondWindowEvents');
        this.outlets.rejections.record(`sequence number beyond the reorder window (next expected ${this.reorder.nextSeq})`, line);
      } else {
        this.counters.add('duplicateEvents');
        this.outlets.rejections.record('duplicate sequence number', line);
        if (outcome === 'already-applied') this.hintAtReset(seq);
      }
    }
    this.openEntries.set(entry.id, maxSeq);
  }

  /** A source that starts again from 1 is the common case of this: say what to do, now and then. */
  private hintAtReset(seq: number): void {
    const now = Date.now();
    if (now - this.lastResetHintMs < RESET_HINT_INTERVAL_MS) return;
    this.lastResetHintMs = now;
    this.logger.warn(
      { seq, nextSeq: this.reorder.nextSeq },
      'events below the committed position are dropped; to start a new sequence from 1, run: npm run ops -- reset',
    );
  }

  /** Skips the missing sequence numbers when an operator asked, or when the gap timeout has passed. */
  private skipGapIfDue(): SkippedRange | undefined {
    const timedOut = this.gap !== undefined && this.config.gapTimeoutMs !== undefined &&
      Date.now() - this.gap.sinceMs >= this.config.gapTimeoutMs;
    if (this.skipRequests.length === 0 && !timedOut) return undefined;
    const range = this.reorder.skipGap();
    const reason = this.skipRequests.length > 0 ? 'operator' : 'gap timeout';
    if (!range) {
      for (const answer of this.skipRequests.splice(0)) answer(undefined);
      return undefined;
    }
    return { ...range, reason };
  }

  /** Runs once the skip is committed. */
  private skipped(range: SkippedRange): void {
    this.counters.add('skippedEvents', range.to - range.from + 1);
    this.logger.warn(range, 'skipped missing sequence numbers: their notifications are lost');
    this.outlets.recordSkipped(range);
    for (const answer of this.skipRequests.splice(0)) answer(range);
  }

  /** Notes when the sequencer starts waiting at a missing number, and says so while it lasts. */
  private watchGap(): void {
    const seq = this.reorder.nextSeq;
    // Events ready to release are a backlog of bounded batches, not a gap.
    if (this.reorder.size === 0 || this.reorder.ready) {
      this.gap = undefined;
      this.outlets.waits.end('gap');
      return;
    }
    if (this.gap?.seq !== seq) {
      this.outlets.waits.end('gap');
      this.gap = { seq, sinceMs: Date.now() };
    }
    this.outlets.waits.begin('gap', `event ${seq} (${this.reorder.size} later events held)`);
  }

  private async waitForRoom(): Promise<void> {
    while (this.window.largest() > this.config.maxInFlightBytesPerGateway && !this.closing) {
      this.counters.add('windowWaits');
      const [gatewayId, bytes] = this.window.slowest()!;
      this.outlets.waits.begin('gateways', `gateway ${gatewayId} to acknowledge ${(bytes / MIB).toFixed(1)} MiB`);
      await this.gateways.progress(PROGRESS_WAIT_MS);
    }
    this.outlets.waits.end('gateways');
  }

  private recordInFlight(batchSeq: number, bytesByUser: ReadonlyMap<number, number>): void {
    const bytesByGateway = new Map<string, number>();
    for (const [userId, bytes] of bytesByUser) {
      for (const gatewayId of this.router.presence.gatewaysOf(userId) ?? []) {
        bytesByGateway.set(gatewayId, (bytesByGateway.get(gatewayId) ?? 0) + bytes);
      }
    }
    this.window.record(batchSeq, bytesByGateway);
  }
}
