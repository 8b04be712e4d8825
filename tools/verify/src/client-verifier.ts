import { encodePayload, formatPayload, MAX_PAYLOAD_BYTES, newEvent, type Event } from './event.ts';
import { ExpectedQueue } from './expected-queue.ts';
import type { FailureLog } from './failure-log.ts';
import type { LatencyTracker } from './latency-tracker.ts';
import { LineReader, type LineSink } from './line-reader.ts';
import type { RunTally } from './run-tally.ts';

const PIPE = 0x7c;
const DIGIT_ZERO = 0x30;
/** Sequence numbers fit in 32 bits. */
const MAX_SEQ_DIGITS = 10;
/** Skipped notifications remembered per client to tell "late" from "missing"; more are only counted. */
const MAX_OVERDUE_TRACKED = 32;

export interface VerificationContext {
  readonly failures: FailureLog;
  readonly latency: LatencyTracker;
  readonly tally: RunTally;
  readonly now: () => number;
  /** Debug hook: called with every received line. */
  readonly onNotification?: ((userId: number, line: string) => void) | undefined;
}

/** A notification that was overtaken by a later one: it is either late or missing. */
interface Overdue {
  expected: Event;
  overtakenBy: string;
}

/** Scratch space for rendering the expected payload; every check reuses it. */
const expectedBytes = new Uint8Array(MAX_PAYLOAD_BYTES);

/**
 * Checks the byte stream one user client receives against what the oracle
 * expects for it: every notification byte for byte, in order, none missing,
 * none extra. Pure: fed with chunks and timestamps, it reports to the context.
 */
export class ClientVerifier implements LineSink {
  private readonly queue = new ExpectedQueue();
  private readonly reader = new LineReader(this);
  private readonly overdue: Overdue[] = [];
  private overdueUntracked = 0;
  private readonly scratch = newEvent();
  private lastReceivedSeq = 0;
  /** When the client started waiting for the notification now at the head of its queue. */
  private waitingSince = 0;
  /** Timestamp of the chunk being parsed; one clock read per chunk, not per line. */
  private chunkReceivedAt = 0;

  constructor(
    readonly userId: number,
    private readonly context: VerificationContext,
  ) {}

  /** Notifications expected and not yet received. */
  get pending(): number {
    return this.queue.size;
  }

  expect(event: Event): void {
    if (this.queue.size === 0) this.waitingSince = this.context.now();
    this.queue.push(event);
    this.context.tally.notificationsExpected++;
    this.context.tally.outstanding++;
  }

  receive(chunk: Uint8Array, receivedAt: number): void {
    this.chunkReceivedAt = receivedAt;
    this.reader.push(chunk);
  }

  /** Records a failure and returns true if the client waited too long for its next notification. */
  checkTimeout(now: number, timeoutMs: number): boolean {
    if (this.queue.size === 0 || now - this.waitingSince <= timeoutMs) return false;
    this.queue.read(0, this.scratch);
    const awaited = formatPayload(this.scratch);
    const pending = this.queue.size;
    this.fail(() => `missing ${JSON.stringify(awaited)}: nothing received for ${timeoutMs} ms (timeout); notifications still expected: ${pending}`);
    return true;
  }

  /** Reports notifications that were overtaken and never arrived; call once the run is over. */
  finish(): void {
    for (const { expected, overtakenBy } of this.overdue) {
      const payload = formatPayload(expected);
      this.fail(() => `missing ${JSON.stringify(payload)}: never received (${JSON.stringify(overtakenBy)} came in its place)`);
    }
    if (this.overdueUntracked > 0) {
      const count = this.overdueUntracked;
      this.fail(() => `missing ${count} more notifications that were overtaken by later ones`);
    }
    this.overdue.length = 0;
    this.overdueUntracked = 0;
  }

  line(bytes: Uint8Array, start: number, end: number, endsWithCrLf: boolean): void {
    const tally = this.context.tally;
    tally.notificationsReceived++;
    tally.lastNotificationAt = this.chunkReceivedAt;
    this.context.onNotification?.(this.userId, decode(bytes, start, end));
    // Failure messages decode the line inside their thunk: a flood of failures beyond the log's capacity costs no strings.
    if (!endsWithCrLf) {
      this.fail(() => `malformed notification ${quote(bytes, start, end)}: does not end with \\r\\n`);
    }
    const seq = parseSeq(bytes, start, end);
    if (seq === -1) {
      this.fail(() => `malformed notification ${quote(bytes, start, end)}: no sequence number`);
      return;
    }
    if (this.queue.size > 0 && seq === this.queue.seqAt(0)) {
      this.acceptHead(bytes, start, end);
      return;
    }
    const index = this.queue.size > 0 && seq > this.queue.seqAt(0) ? this.queue.indexOf(seq) : -1;
    if (index > 0) {
      this.skip(index, bytes, start, end);
      this.acceptHead(bytes, start, end);
      return;
    }
    this.reportUnexpected(seq, bytes, start, end);
  }

  overlong(prefix: Uint8Array): void {
    this.fail(() => `malformed notification starting ${quote(prefix, 0, prefix.length)}: line longer than ${prefix.length} bytes`);
  }

  private acceptHead(bytes: Uint8Array, start: number, end: number): void {
    const expected = this.scratch;
    this.queue.read(0, expected);
    this.queue.drop(1);
    this.context.tally.outstanding--;
    this.lastReceivedSeq = expected.seq;
    this.waitingSince = this.chunkReceivedAt;
    this.context.latency.received(expected.seq, this.chunkReceivedAt);
    const expectedEnd = encodePayload(expected.seq, expected.type, expected.from, expected.to, expectedBytes, 0);
    if (!sameBytes(expectedBytes, expectedEnd, bytes, start, end)) {
      this.fail(() => `wrong payload for sequence ${expected.seq}: expected ${JSON.stringify(formatPayload(expected))}, received ${quote(bytes, start, end)}`);
    }
  }

  /** Moves the `count` notifications before the line just received aside: they are late or missing. */
  private skip(count: number, bytes: Uint8Array, start: number, end: number): void {
    const tracked = Math.min(count, MAX_OVERDUE_TRACKED - this.overdue.length);
    const overtakenBy = tracked > 0 ? decode(bytes, start, end) : '';
    for (let index = 0; index < tracked; index++) {
      const expected = newEvent();
      this.queue.read(index, expected);
      this.overdue.push({ expected, overtakenBy });
    }
    this.overdueUntracked += count - tracked;
    this.queue.drop(count);
    this.context.tally.outstanding -= count;
  }

  private reportUnexpected(seq: number, bytes: Uint8Array, start: number, end: number): void {
    const overdueIndex = this.overdue.findIndex(({ expected }) => expected.seq === seq);
    if (overdueIndex !== -1) {
      const [{ overtakenBy }] = this.overdue.splice(overdueIndex, 1) as [Overdue];
      this.fail(() => `out of order: received ${quote(bytes, start, end)} after ${JSON.stringify(overtakenBy)}`);
    } else if (seq === this.lastReceivedSeq) {
      this.fail(() => `doubled notification ${quote(bytes, start, end)}: received twice in a row`);
    } else {
      this.fail(() => `extra notification ${quote(bytes, start, end)}: not expected for this user (or already received)`);
    }
  }

  /** Records a problem of this client, prefixed with its user id. */
  fail(describe: () => string): void {
    this.context.failures.record(() => `client of user ${this.userId}: ${describe()}`);
  }
}

/** The leading decimal sequence number up to the first '|', or -1 if there is none. */
function parseSeq(bytes: Uint8Array, start: number, end: number): number {
  let value = 0;
  let at = start;
  for (; at < end && at - start < MAX_SEQ_DIGITS; at++) {
    const digit = bytes[at]! - DIGIT_ZERO;
    if (digit < 0 || digit > 9) break;
    value = value * 10 + digit;
  }
  return at > start && at < end && bytes[at] === PIPE ? value : -1;
}

function sameBytes(expected: Uint8Array, expectedLength: number, bytes: Uint8Array, start: number, end: number): boolean {
  if (end - start !== expectedLength) return false;
  for (let i = 0; i < expectedLength; i++) if (expected[i] !== bytes[start + i]) return false;
  return true;
}

function decode(bytes: Uint8Array, start: number, end: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('latin1');
}

/** The line as a JSON string literal, so that stray control bytes show. */
function quote(bytes: Uint8Array, start: number, end: number): string {
  return JSON.stringify(decode(bytes, start, end));
}
