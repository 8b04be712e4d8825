import { LatencyHistogram } from './latency-histogram.ts';

/** One event in 64 is timed: enough samples for a stable p99, negligible cost. */
const SAMPLE_EVERY_NTH_SEQ_MASK = 63;

interface PendingSample {
  sentAt: number;
  recipientsLeft: number;
}

/**
 * Measures event-to-notification latency on a sample of sequence numbers.
 * Only sampled events still awaited by some recipient are held.
 */
export class LatencyTracker {
  readonly histogram = new LatencyHistogram();
  private readonly pending = new Map<number, PendingSample>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  sent(seq: number, recipients: number): void {
    if (recipients > 0 && isSampled(seq)) this.pending.set(seq, { sentAt: this.now(), recipientsLeft: recipients });
  }

  received(seq: number, receivedAt: number): void {
    if (!isSampled(seq)) return;
    const sample = this.pending.get(seq);
    if (sample === undefined) return;
    this.histogram.record(receivedAt - sample.sentAt);
    if (--sample.recipientsLeft === 0) this.pending.delete(seq);
  }
}

function isSampled(seq: number): boolean {
  return (seq & SAMPLE_EVERY_NTH_SEQ_MASK) === 0;
}
