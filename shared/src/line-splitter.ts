/**
 * Splits a byte stream into lines: `\n` ends a line and a `\r` before it is dropped,
 * a line may span reads and a read may hold many lines. A line longer than the limit
 * is reported once, as oversized, and skipped without being buffered.
 */
export interface LineSink {
  line(text: string): void;
  oversized(bytes: number): void;
}

const LF = 0x0a;
const CR = 0x0d;

export class LineSplitter {
  /** Bytes of an unfinished line carried over from earlier reads. */
  private carry: Buffer | undefined;
  /** Bytes of the current line dropped so far because it is over the limit; -1 when not dropping. */
  private droppedBytes = -1;

  constructor(
    private readonly maxLineBytes: number,
    private readonly sink: LineSink,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (let end = chunk.indexOf(LF); end !== -1; end = chunk.indexOf(LF, start)) {
      this.finishLine(chunk, start, end);
      start = end + 1;
    }
    this.keep(chunk, start);
  }

  /**
   * The peer closed: returns what it sent after its last line ending, if anything.
   * That text is not treated as a line, since it may have been cut short.
   */
  end(): string | undefined {
    if (this.droppedBytes >= 0) this.sink.oversized(this.droppedBytes);
    const rest = this.carry && this.carry.length > 0 ? this.carry.toString('utf8') : undefined;
    this.carry = undefined;
    this.droppedBytes = -1;
    return rest;
  }

  private finishLine(chunk: Buffer, start: number, end: number): void {
    if (this.droppedBytes >= 0) {
      this.sink.oversized(this.droppedBytes + end - start);
      this.droppedBytes = -1;
      return;
    }
    if (this.carry) {
      const whole = Buffer.concat([this.carry, chunk.subarray(start, end)]);
      this.carry = undefined;
      if (whole.length > this.maxLineBytes + 1) this.sink.oversized(whole.length);
      else this.emit(whole, 0, whole.length);
      return;
    }
    if (end - start > this.maxLineBytes + 1) this.sink.oversized(end - start);
    else this.emit(chunk, start, end);
  }

  private keep(chunk: Buffer, start: number): void {
    if (start >= chunk.length) return;
    if (this.droppedBytes >= 0) {
      this.droppedBytes += chunk.length - start;
      return;
    }
    const rest = chunk.subarray(start);
    const carried = this.carry ? this.carry.length : 0;
    if (carried + rest.length > this.maxLineBytes + 1) {
      this.droppedBytes = carried + rest.length;
      this.carry = undefined;
      return;
    }
    // Copy: the socket may reuse the chunk's memory, and a small copy frees the large chunk.
    this.carry = this.carry ? Buffer.concat([this.carry, rest]) : Buffer.from(rest);
  }

  /** `end` excludes the LF; a CR before it belongs to the line ending, not the line. */
  private emit(bytes: Buffer, start: number, end: number): void {
    const stop = end > start && bytes[end - 1] === CR ? end - 1 : end;
    this.sink.line(bytes.toString('utf8', start, stop));
  }
}
