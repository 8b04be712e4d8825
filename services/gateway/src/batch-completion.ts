import type { BatchMarker } from '@follower-maze/shared';

/** Where one batch-end channel has got to: the term and batch of its last marker taken. */
interface ChannelPosition {
  term: number;
  batchSeq: number;
}

/** What one marker changed. */
export interface MarkerOutcome {
  /** Dropped: a marker of an older term than the channel's, for a batch it already had (a deposed sequencer publishing late). */
  readonly stale: boolean;
  /** When the marker follows a batch this channel never had: the batch the channel had got to (deliveries were missed). */
  readonly gapAfter: number | undefined;
  /** The batch now received from every channel, when that moved; `rebase` when a new term numbers batches afresh. */
  readonly advance: { readonly batchSeq: number; readonly rebase: boolean } | undefined;
}

/**
 * Which batches the gateway has received, from the batch-end markers of every channel
 * that carries them (no I/O). On one Redis that is one channel. On a Redis Cluster every
 * master carries its own batch-end channel, and the sequencer publishes a batch's marker
 * on each master after that master's deliveries of the batch: a batch counts as received
 * once every channel has its marker (or a later one of the same term).
 *
 * Per channel, a marker whose previous batch is beyond the channel's last is a gap: the
 * deliveries of the batches between were published on that master and not received.
 *
 * A new term numbers batches afresh (Redis may have lost the last commits): a channel
 * takes a marker of another term as its new position even when that moves it back, and
 * the received batch is rebased once every channel is in the new term.
 *
 * `dropStaleTerms` (a Redis Cluster, where publishing is not fenced): a channel drops a
 * marker of an older term than its own for a batch it already had, since a deposed
 * sequencer may still publish on a master after its successor began; taken, such a marker
 * would move the channel back and make its successor's next marker look like a gap. It is
 * decided per channel, not over all of them: a new term first publishes its predecessor's
 * last batch again with that batch's logged marker (the older term), and another master's
 * channel may already carry the new term's markers by then. A marker of an older term for
 * a batch beyond the channel's is taken: no deposed sequencer has committed it, so the
 * term went back (Redis lost the increments of the terms, an asynchronous replica's
 * failover), and waiting for the old number would never acknowledge again. On one Redis
 * publishing is fenced and one connection delivers in publish order, so an older term's
 * marker cannot overtake a newer one's unless Redis lost writes and the term went back,
 * which today's rebase handles; there it stays off.
 */
export class BatchCompletion {
  private readonly positions = new Map<string, ChannelPosition>();
  private term = 0;
  private received = 0;
  /** False until the committed batch was read at start: before, markers only set the starting point. */
  private synced = false;

  constructor(channels: readonly string[], private readonly dropStaleTerms: boolean) {
    this.setChannels(channels);
  }

  /** The last batch received from every channel, within the current term. */
  get lastBatch(): number {
    return this.received;
  }

  /**
   * The batch-end channels changed (the slot map did): a new channel starts from the
   * batch received so far. Used before a catch-up, which then brings every channel to the
   * delivery log's last batch.
   */
  setChannels(channels: readonly string[]): void {
    for (const channel of this.positions.keys()) if (!channels.includes(channel)) this.positions.delete(channel);
    for (const channel of channels) {
      if (!this.positions.has(channel)) this.positions.set(channel, { term: this.term, batchSeq: this.received });
    }
  }

  /** The committed batch read at start, after subscribing: a batch committed in between is then either seen or counted here. */
  sync(committedBatch: number): number {
    this.received = Math.max(this.received, committedBatch);
    for (const position of this.positions.values()) position.batchSeq = Math.max(position.batchSeq, committedBatch);
    this.synced = true;
    return this.received;
  }

  /** A new epoch (an operator's reset): batches are numbered from the start again. */
  restart(): void {
    this.term = 0;
    this.received = 0;
    for (const position of this.positions.values()) {
      position.term = 0;
      position.batchSeq = 0;
    }
  }

  /** A marker that arrived on `channel`; one of a channel that is not (or no longer) a batch-end channel changes nothing. */
  marker(channel: string, marker: BatchMarker): MarkerOutcome {
    const position = this.positions.get(channel);
    if (!position) return { stale: false, gapAfter: undefined, advance: undefined };
    if (this.isStale(position, marker)) return { stale: true, gapAfter: undefined, advance: undefined };
    const gapAfter = this.synced && marker.previousSeq > position.batchSeq ? position.batchSeq : undefined;
    take(position, marker);
    return { stale: false, gapAfter, advance: this.advance() };
  }

  /**
   * A batch read from the delivery log, which holds every master's deliveries of it: it
   * counts as its marker on every channel. A gap is a batch after the one received from
   * every channel: the log no longer reaches back that far.
   */
  logged(marker: BatchMarker): MarkerOutcome {
    const gapAfter = this.synced && marker.previousSeq > this.received ? this.received : undefined;
    for (const position of this.positions.values()) if (!this.isStale(position, marker)) take(position, marker);
    return { stale: false, gapAfter, advance: this.advance() };
  }

  private isStale(position: ChannelPosition, marker: BatchMarker): boolean {
    return this.dropStaleTerms && marker.term < position.term && marker.batchSeq <= position.batchSeq;
  }

  /** Moves the received batch once every channel is in one term: to the lowest of their batches. */
  private advance(): MarkerOutcome['advance'] {
    let term: number | undefined;
    let lowest = Infinity;
    for (const position of this.positions.values()) {
      if (term === undefined) term = position.term;
      else if (position.term !== term) return undefined;
      lowest = Math.min(lowest, position.batchSeq);
    }
    if (term === undefined) return undefined;
    if (term !== this.term) {
      this.term = term;
      this.received = lowest;
      return { batchSeq: lowest, rebase: true };
    }
    if (lowest <= this.received) return undefined;
    this.received = lowest;
    return { batchSeq: lowest, rebase: false };
  }
}

/** A marker of another term moves the channel to it, even back; within a term, only forward. */
function take(position: ChannelPosition, { term, batchSeq }: BatchMarker): void {
  if (term !== position.term) {
    position.term = term;
    position.batchSeq = batchSeq;
  } else if (batchSeq > position.batchSeq) {
    position.batchSeq = batchSeq;
  }
}
