import type { Event, EventType } from './event.ts';

const INITIAL_CAPACITY = 64;

/**
 * FIFO of the notifications one client still expects, in increasing sequence
 * order. A ring of parallel typed arrays (13 bytes per entry, no object per
 * notification) that doubles when full, so its size follows what is in flight
 * for this client, not the length of the run.
 */
export class ExpectedQueue {
  private seqs = new Uint32Array(INITIAL_CAPACITY);
  private types = new Uint8Array(INITIAL_CAPACITY);
  private froms = new Uint32Array(INITIAL_CAPACITY);
  private tos = new Uint32Array(INITIAL_CAPACITY);
  private head = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(event: Event): void {
    if (this.count === this.seqs.length) this.grow();
    const slot = (this.head + this.count) & (this.seqs.length - 1);
    this.seqs[slot] = event.seq;
    this.types[slot] = event.type;
    this.froms[slot] = event.from;
    this.tos[slot] = event.to;
    this.count++;
  }

  /** Sequence number of the entry `index` places behind the head. */
  seqAt(index: number): number {
    return this.seqs[this.slotOf(index)]!;
  }

  /** Copies the entry `index` places behind the head into `into`. */
  read(index: number, into: Event): void {
    const slot = this.slotOf(index);
    into.seq = this.seqs[slot]!;
    into.type = this.types[slot] as EventType;
    into.from = this.froms[slot]!;
    into.to = this.tos[slot]!;
  }

  /** Removes `n` entries from the head. */
  drop(n: number): void {
    this.head = (this.head + n) & (this.seqs.length - 1);
    this.count -= n;
  }

  /** Index of `seq` behind the head, or -1. Entries are sorted, so this is a binary search. */
  indexOf(seq: number): number {
    let low = 0;
    let high = this.count - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const found = this.seqAt(middle);
      if (found === seq) return middle;
      if (found < seq) low = middle + 1;
      else high = middle - 1;
    }
    return -1;
  }

  private slotOf(index: number): number {
    return (this.head + index) & (this.seqs.length - 1);
  }

  /** Doubles the capacity (kept a power of two for the masks), unrolling the ring to start at 0. */
  private grow(): void {
    const capacity = this.seqs.length * 2;
    this.seqs = this.unrolled(this.seqs, new Uint32Array(capacity));
    this.types = this.unrolled(this.types, new Uint8Array(capacity));
    this.froms = this.unrolled(this.froms, new Uint32Array(capacity));
    this.tos = this.unrolled(this.tos, new Uint32Array(capacity));
    this.head = 0;
  }

  private unrolled<T extends Uint8Array | Uint32Array>(from: T, to: T): T {
    const firstPart = from.subarray(this.head);
    to.set(firstPart);
    to.set(from.subarray(0, this.head), firstPart.length);
    return to;
  }
}
