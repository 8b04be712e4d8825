import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { LineSplitter, type Logger } from '@follower-maze/shared';
import type { RejectionReason } from './ingest-metrics.ts';
import type { SourceApplicant, SourceGate } from './source-gate.ts';

/**
 * What a connection to the event port is: `silent` until its first byte, then a `source`,
 * `waiting` for a slot, or `refused`. One that closes silent was a probe (a readiness
 * check, a balancer's health check).
 */
export type ConnectionRole = 'silent' | 'waiting' | 'source' | 'refused';

const CLOSED_MESSAGES: Readonly<Record<ConnectionRole, string>> = {
  silent: 'probe connection closed without sending anything',
  waiting: 'event source closed while waiting for a slot; what it sent is lost',
  source: 'event source disconnected',
  refused: 'refused event source closed',
};

/** Where a connection's input goes: the ingest validates, counts and appends. */
export interface SourceListener {
  /** A complete line of an admitted source; true when it was accepted as an event. */
  line(text: string): boolean;
  /** Input that is not a line at all (oversized, unterminated). */
  reject(reason: RejectionReason, detail: string, input: string): void;
  admitted(): void;
  /** The source has sent its last byte: what it sent should be appended without waiting. */
  ended(): void;
  refused(remote: string): void;
  closed(connection: SourceConnection): void;
}

/**
 * One connection to the event port. It counts as a source only from its first byte, so
 * that probes, which connect and close without sending anything, neither take the source's
 * slot nor are refused, and are logged at debug only. Each connection logs one line when
 * it closes (at info for a source), not one when it opens too: probes come every 50 ms.
 */
export class SourceConnection implements SourceApplicant {
  private state: ConnectionRole = 'silent';
  private readonly remote: string;
  private readonly openedAt = performance.now();
  private readonly splitter: LineSplitter;
  /** The first bytes of a connection waiting for a slot, read before it had to wait. */
  private firstChunk: Buffer | undefined;
  /** Whether back-pressure allows sources to be read. */
  private readingAllowed: boolean;
  private holdsSlot = false;
  /** The peer shut down its side (sent all it will send) before this connection was a source. */
  private endedEarly = false;
  private eventsAccepted = 0;
  private error: string | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly gate: SourceGate,
    private readonly listener: SourceListener,
    private readonly logger: Logger,
    maxLineBytes: number,
    readingAllowed: boolean,
  ) {
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    this.readingAllowed = readingAllowed;
    this.splitter = new LineSplitter(maxLineBytes, {
      line: (text) => {
        if (this.listener.line(text)) this.eventsAccepted++;
      },
      oversized: (bytes) => this.listener.reject('oversized', `line longer than ${maxLineBytes} bytes`, `${bytes} bytes`),
    });
    // A silent connection is read even under back-pressure: its first bytes decide what it
    // is, and a probe's close must be seen at once, not pile up sockets until Redis answers.
    socket.on('data', (chunk: Buffer) => this.received(chunk));
    socket.on('end', () => this.ended());
    socket.on('error', (error) => (this.error = error.message));
    socket.on('close', () => this.closed());
  }

  get role(): ConnectionRole {
    return this.state;
  }

  admit(): void {
    this.state = 'source';
    this.holdsSlot = true;
    this.listener.admitted();
    const chunk = this.firstChunk;
    this.firstChunk = undefined;
    if (chunk) this.splitter.push(chunk);
    if (this.endedEarly) this.ended();
    else this.setReading(this.readingAllowed);
  }

  refuse(): void {
    this.state = 'refused';
    this.firstChunk = undefined;
    this.listener.refused(this.remote);
    this.socket.destroy();
  }

  /** Back-pressure: only a source is paused; a waiting connection stays paused until admitted. */
  setReading(allowed: boolean): void {
    this.readingAllowed = allowed;
    if (this.state !== 'source') return;
    if (allowed) this.socket.resume();
    else this.socket.pause();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private received(chunk: Buffer): void {
    if (this.state === 'source') this.splitter.push(chunk);
    else if (this.state === 'silent') this.apply(chunk);
  }

  /** The first bytes: kept, unread further, until the gate has answered (at once, when a slot is free). */
  private apply(chunk: Buffer): void {
    this.state = 'waiting';
    this.firstChunk = chunk;
    this.socket.pause();
    this.gate.apply(this);
  }

  /** The peer sent its last byte. Its side of the socket is closed here once its input is taken. */
  private ended(): void {
    if (this.state === 'waiting') {
      this.endedEarly = true;
      return;
    }
    this.socket.end();
    if (this.state !== 'source') return;
    const unterminated = this.splitter.end();
    if (unterminated !== undefined) this.listener.reject('unterminated', 'unterminated last line', unterminated);
    this.listener.ended();
    this.releaseSlot();
  }

  private closed(): void {
    if (this.state === 'waiting') this.gate.withdraw(this);
    this.releaseSlot();
    this.listener.closed(this);
    const line = {
      remote: this.remote, durationMs: Math.round(performance.now() - this.openedAt), eventsAccepted: this.eventsAccepted,
      ...(this.error && { err: this.error }),
    };
    // A refusal has had its (rate-limited) warning already.
    if (this.state === 'source' || this.state === 'waiting') this.logger.info(line, CLOSED_MESSAGES[this.state]);
    else this.logger.debug(line, CLOSED_MESSAGES[this.state]);
  }

  /** A source that ended sends nothing more: its slot is free for the next, before its socket is closed. */
  private releaseSlot(): void {
    if (!this.holdsSlot) return;
    this.holdsSlot = false;
    this.gate.release();
  }
}
