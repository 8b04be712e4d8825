import { encodePayload, MAX_PAYLOAD_BYTES, newEvent, type Event, type EventType } from './event.ts';
import type { SeededRandom } from './seeded-random.ts';

const CR = 0x0d;
const LF = 0x0a;

export type LineEnding = '\r\n' | '\n';

/** Size of one socket write: large enough to amortise the syscall, small enough to interleave with reads. */
export const CHUNK_TARGET_BYTES = 64 * 1024;

export interface EventFeed {
  /** Fills `into` with the next event in sequence order; false when there are no more. */
  next(into: Event): boolean;
}

/**
 * Turns the event feed into wire bytes the way the standard event source does:
 * batches of up to `batchSize` consecutive events, each batch shuffled. Events
 * are held as fields in typed arrays and encoded straight into the chunk.
 */
export class ShuffledBatchEncoder {
  private readonly seqs: Uint32Array;
  private readonly types: Uint8Array;
  private readonly froms: Uint32Array;
  private readonly tos: Uint32Array;
  private readonly withCarriageReturn: boolean;
  private readonly chunkCapacity: number;
  private readonly event = newEvent();
  private exhausted = false;

  constructor(
    private readonly feed: EventFeed,
    private readonly batchSize: number,
    private readonly random: SeededRandom,
    lineEnding: LineEnding,
    /** Smaller chunks pace a rate-capped source evenly instead of in bursts. */
    private readonly chunkTargetBytes = CHUNK_TARGET_BYTES,
  ) {
    this.seqs = new Uint32Array(batchSize);
    this.types = new Uint8Array(batchSize);
    this.froms = new Uint32Array(batchSize);
    this.tos = new Uint32Array(batchSize);
    this.withCarriageReturn = lineEnding === '\r\n';
    this.chunkCapacity = chunkTargetBytes + batchSize * (MAX_PAYLOAD_BYTES + lineEnding.length);
  }

  /** Whole shuffled batches of about chunkTargetBytes; null once the feed is exhausted. */
  nextChunk(): Buffer | null {
    if (this.exhausted) return null;
    const chunk = Buffer.allocUnsafe(this.chunkCapacity);
    let length = 0;
    while (length < this.chunkTargetBytes && !this.exhausted) {
      const count = this.readBatch();
      this.shuffle(count);
      length = this.encodeBatch(count, chunk, length);
    }
    return length === 0 ? null : chunk.subarray(0, length);
  }

  private readBatch(): number {
    let count = 0;
    while (count < this.batchSize && this.feed.next(this.event)) {
      this.seqs[count] = this.event.seq;
      this.types[count] = this.event.type;
      this.froms[count] = this.event.from;
      this.tos[count] = this.event.to;
      count++;
    }
    if (count < this.batchSize) this.exhausted = true;
    return count;
  }

  /** Fisher-Yates over the parallel arrays. */
  private shuffle(count: number): void {
    for (let i = count - 1; i > 0; i--) {
      const j = this.random.nextInt(i + 1);
      swap(this.seqs, i, j);
      swap(this.types, i, j);
      swap(this.froms, i, j);
      swap(this.tos, i, j);
    }
  }

  private encodeBatch(count: number, chunk: Buffer, offset: number): number {
    let at = offset;
    for (let i = 0; i < count; i++) {
      at = encodePayload(this.seqs[i]!, this.types[i] as EventType, this.froms[i]!, this.tos[i]!, chunk, at);
      if (this.withCarriageReturn) chunk[at++] = CR;
      chunk[at++] = LF;
    }
    return at;
  }
}

function swap(values: Uint8Array | Uint32Array, i: number, j: number): void {
  const kept = values[i]!;
  values[i] = values[j]!;
  values[j] = kept;
}
