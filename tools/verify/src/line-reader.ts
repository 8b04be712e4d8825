const LF = 0x0a;
const CR = 0x0d;

/** Longer lines cannot be notifications; they are reported instead of buffered without bound. */
export const MAX_LINE_BYTES = 256;

export interface LineSink {
  /** One line, bytes[start, end) without its terminator. */
  line(bytes: Uint8Array, start: number, end: number, endsWithCrLf: boolean): void;
  /** A line exceeded MAX_LINE_BYTES; its remainder up to the next LF is discarded. */
  overlong(prefix: Uint8Array): void;
}

/**
 * Splits a byte stream into lines ending with LF (CR LF expected, bare LF
 * tolerated and flagged). Lines inside a chunk are handed out in place; only a
 * line split across chunks is copied, into a fixed carry buffer.
 */
export class LineReader {
  private readonly carry = new Uint8Array(MAX_LINE_BYTES);
  private carryLength = 0;
  private discarding = false;

  constructor(private readonly sink: LineSink) {}

  push(chunk: Uint8Array): void {
    let start = 0;
    if (this.carryLength > 0 || this.discarding) {
      const lineFeed = indexOfLineFeed(chunk, 0);
      if (lineFeed === -1) {
        this.appendToCarry(chunk, 0, chunk.length);
        return;
      }
      this.appendToCarry(chunk, 0, lineFeed);
      if (!this.discarding) this.emit(this.carry, 0, this.carryLength);
      this.carryLength = 0;
      this.discarding = false;
      start = lineFeed + 1;
    }
    for (let lineFeed = indexOfLineFeed(chunk, start); lineFeed !== -1; lineFeed = indexOfLineFeed(chunk, start)) {
      this.emit(chunk, start, lineFeed);
      start = lineFeed + 1;
    }
    if (start < chunk.length) this.appendToCarry(chunk, start, chunk.length);
  }

  /** Forgets a partial line: the next bytes come from a new connection, and the old one's last line was cut off. */
  reset(): void {
    this.carryLength = 0;
    this.discarding = false;
  }

  private emit(bytes: Uint8Array, start: number, lineFeed: number): void {
    const endsWithCrLf = lineFeed > start && bytes[lineFeed - 1] === CR;
    this.sink.line(bytes, start, endsWithCrLf ? lineFeed - 1 : lineFeed, endsWithCrLf);
  }

  private appendToCarry(bytes: Uint8Array, start: number, end: number): void {
    if (this.discarding) return;
    const fitting = Math.min(end - start, MAX_LINE_BYTES - this.carryLength);
    this.carry.set(bytes.subarray(start, start + fitting), this.carryLength);
    this.carryLength += fitting;
    if (fitting < end - start) {
      this.sink.overlong(this.carry.slice());
      this.carryLength = 0;
      this.discarding = true;
    }
  }
}

/** For lines this short a plain loop is as fast as Buffer#indexOf (measured), and needs no Buffer. */
function indexOfLineFeed(bytes: Uint8Array, from: number): number {
  for (let i = from; i < bytes.length; i++) if (bytes[i] === LF) return i;
  return -1;
}
