/**
 * Holds events that arrived ahead of their turn and releases them in sequence order.
 * A ring of `window` slots indexed by sequence number: memory is fixed by the window,
 * not by how many events flow, and insert and release are O(1).
 */
export type InsertOutcome = 'accepted' | 'already-applied' | 'duplicate' | 'beyond-window';

export class ReorderBuffer<T> {
  private readonly slots: (T | undefined)[];
  private next: number;
  private held = 0;

  constructor(
    private readonly window: number,
    nextSeq: number,
  ) {
    this.slots = new Array<T | undefined>(window);
    this.next = nextSeq;
  }

  /** The next sequence number to be released. */
  get nextSeq(): number {
    return this.next;
  }

  /** Events waiting for an earlier one. */
  get size(): number {
    return this.held;
  }

  insert(seq: number, item: T): InsertOutcome {
    if (seq < this.next) return 'already-applied';
    if (seq >= this.next + this.window) return 'beyond-window';
    const slot = seq % this.window;
    if (this.slots[slot] !== undefined) return 'duplicate';
    this.slots[slot] = item;
    this.held++;
    return 'accepted';
  }

  /**
   * Gives up on the missing sequence numbers before the earliest held event, so that it
   * and what follows can be released. Returns the skipped range, or undefined when
   * nothing is held (then there is no gap to see, only an idle source).
   */
  skipGap(): { readonly from: number; readonly to: number } | undefined {
    if (this.held === 0) return undefined;
    let seq = this.next;
    while (this.slots[seq % this.window] === undefined) seq++;
    if (seq === this.next) return undefined;
    const skipped = { from: this.next, to: seq - 1 };
    this.next = seq;
    return skipped;
  }

  /** Whether the next event in turn is here, so that `release` would release something. */
  get ready(): boolean {
    return this.slots[this.next % this.window] !== undefined;
  }

  /** Releases the events that are now in turn, in order, while `more()` allows. */
  release(take: (item: T) => void, more: () => boolean = () => true): void {
    while (more()) {
      const slot = this.next % this.window;
      const item = this.slots[slot];
      if (item === undefined) return;
      this.slots[slot] = undefined;
      this.held--;
      this.next++;
      take(item);
    }
  }
}
