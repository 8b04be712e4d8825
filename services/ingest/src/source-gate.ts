import { performance } from 'node:perf_hooks';

/**
 * How long a connection that finds every source slot taken waits for one to free, counted
 * only while the sources are read. A source that disconnects and at once reconnects may
 * find its old connection not yet seen to end: its last bytes and its FIN may still wait
 * in the socket behind back-pressure, or behind the new connection's bytes in one turn of
 * the event loop. Refused on the spot, its new connection and the events on it would be lost.
 */
export const SOURCE_HANDOVER_MS = 1000;

/** A connection that asks to become an event source; the gate answers with exactly one call. */
export interface SourceApplicant {
  admit(): void;
  refuse(): void;
}

/**
 * Lets at most `maxSources` connections be event sources at a time: a second source beside
 * the real one would take sequence numbers from it. A connection that finds every slot
 * taken waits for one to free during the handover time, then is refused; as many may wait
 * as there are slots (one reconnection per source), any more are refused at once.
 */
export class SourceGate {
  private sources = 0;
  /** Waiting applicants, longest waiting first, each with its handover clock. */
  private readonly waiting = new Map<SourceApplicant, PausableTimer>();
  private reading = true;

  constructor(
    private readonly maxSources: number,
    private readonly handoverMs = SOURCE_HANDOVER_MS,
  ) {}

  /** Calls `admit` now or when a slot frees, or `refuse`, unless the applicant is withdrawn first. */
  apply(applicant: SourceApplicant): void {
    if (this.sources < this.maxSources) {
      this.sources++;
      applicant.admit();
      return;
    }
    if (this.waiting.size >= this.maxSources) {
      applicant.refuse();
      return;
    }
    const clock = new PausableTimer(this.handoverMs, () => {
      this.waiting.delete(applicant);
      applicant.refuse();
    });
    this.waiting.set(applicant, clock);
    if (this.reading) clock.start();
  }

  /** A source ended: its slot goes to the applicant that has waited longest. */
  release(): void {
    this.sources--;
    const [next] = this.waiting.keys();
    if (next === undefined) return;
    this.withdraw(next);
    this.sources++;
    next.admit();
  }

  /** The applicant went away while waiting. */
  withdraw(applicant: SourceApplicant): void {
    this.waiting.get(applicant)?.stop();
    this.waiting.delete(applicant);
  }

  /**
   * Whether the sources are read. While they are not (back-pressure), an ended source
   * cannot be seen to end, so the handover clocks stop rather than refuse its successor.
   */
  setReading(reading: boolean): void {
    this.reading = reading;
    for (const clock of this.waiting.values()) {
      if (reading) clock.start();
      else clock.stop();
    }
  }

  close(): void {
    for (const clock of this.waiting.values()) clock.stop();
    this.waiting.clear();
  }
}

/** A timeout whose clock can be stopped and started again, keeping the time already run. */
class PausableTimer {
  private remainingMs: number;
  private startedAt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(durationMs: number, private readonly onExpiry: () => void) {
    this.remainingMs = durationMs;
  }

  start(): void {
    if (this.timer) return;
    this.startedAt = performance.now();
    this.timer = setTimeout(this.onExpiry, this.remainingMs);
  }

  stop(): void {
    if (!this.timer) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.remainingMs = Math.max(0, this.remainingMs - (performance.now() - this.startedAt));
  }
}
