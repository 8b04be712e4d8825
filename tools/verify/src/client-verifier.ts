import { encodePayload, formatPayload, MAX_PAYLOAD_BYTES, newEvent, type Event } from './event.ts';
import { ExpectedQueue } from './expected-queue.ts';
import type { FailureLog } from './failure-log.ts';
import type { LatencyTracker } from './latency-tracker.ts';
import { LineReader, type LineSink } from './line-reader.ts';
import { RejoinWindow } from './rejoin-window.ts';
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
 *
 * A client whose connection the server closed may reconnect (`disconnected`, then
 * `identified`). Notifications routed while it was offline are lost by the protocol's
 * rules, so each new connection is checked from its first notification on: that one
 * must be one of the expected notifications not yet received, and from there the
 * client must receive its expected list without a gap, up to the next disconnection
 * or the end. Across connections, nothing may come twice or out of order. Until a
 * client disconnects, this is exactly the check of a client that never did.
 */
export class ClientVerifier implements LineSink {
  private readonly queue = new ExpectedQueue();
  private readonly reader = new LineReader(this);
  private readonly overdue: Overdue[] = [];
  private overdueUntracked = 0;
  private readonly scratch = newEvent();
  private lastReceivedSeq = 0;
  private readonly rejoin = new RejoinWindow();
  private reconnectCount = 0;
  private missedOffline = 0;
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

  /** How often the server closed this client's connection. */
  get reconnects(): number {
    return this.reconnectCount;
  }

  /** Expected notifications given up because they were routed while the client was offline. */
  get notificationsMissedOffline(): number {
    return this.missedOffline;
  }

  expect(event: Event): void {
    const tally = this.context.tally;
    tally.notificationsExpected++;
    // The clock is read only while a reconnection is under way, never on the hot path.
    if (this.rejoin.open && this.rejoin.admits(this.context.now())) {
      this.queue.push(event);
      this.rejoin.size++;
      return;
    }
    if (this.queue.size === this.rejoin.size) this.waitingSince = this.context.now();
    this.queue.push(event);
    tally.outstanding++;
  }

  /** The server closed the connection: a partial line is cut off, and what is still expected may be lost. */
  disconnected(): void {
    this.reconnectCount++;
    this.reader.reset();
    this.context.tally.outstanding -= this.queue.size - this.rejoin.size;
    this.rejoin.openWith(this.queue.size);
  }

  /** The id line went out on a new connection at `at`. */
  identified(at: number): void {
    this.rejoin.identified(at);
  }

  receive(chunk: Uint8Array, receivedAt: number): void {
    this.chunkReceivedAt = receivedAt;
    this.reader.push(chunk);
  }

  /** Records a failure and returns true if the client waited too long for its next notification. */
  checkTimeout(now: number, timeoutMs: number): boolean {
    const awaitedIndex = this.rejoin.size;
    if (this.queue.size === awaitedIndex || now - this.waitingSince <= timeoutMs) return false;
    this.queue.read(awaitedIndex, this.scratch);
    const awaited = formatPayload(this.scratch);
    const pending = this.queue.size - awaitedIndex;
    this.fail(() => `missing ${JSON.stringify(awaited)}: nothing received for ${timeoutMs} ms (timeout); notifications still expected: ${pending}`);
    return true;
  }

  /** Reports notifications that were overtaken and never arrived; call once the run is over. */
  finish(): void {
    if (this.rejoin.open) this.missedOffline += this.rejoin.size;
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
    if (this.rejoin.open) {
      this.firstAfterReconnect(seq, bytes, start, end);
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

  /**
   * The first notification on a new connection: the expected ones before it were
   * routed while the client was offline and are given up; the ones after it, even
   * those that might have been lost, must now follow without a gap.
   */
  private firstAfterReconnect(seq: number, bytes: Uint8Array, start: number, end: number): void {
    const index = this.queue.indexOf(seq);
    if (index === -1) {
      this.reportUnexpected(seq, bytes, start, end);
      return;
    }
    // Outstanding counted the entries behind the window; from now on it counts every entry behind this one.
    this.context.tally.outstanding += this.rejoin.size - index;
    this.missedOffline += index;
    this.queue.drop(index);
    this.rejoin.close();
    this.acceptHead(bytes, start, end);
  }

  private acceptHead(bytes: Uint8Array, start: number, end: number): void {
    const expected = this.scratch;
    const tally = this.context.tally;
    this.queue.read(0, expected);
    this.queue.drop(1);
    tally.outstanding--;
    if (expected.seq > tally.highestSeqReceived) tally.highestSeqReceived = expected.seq;
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
