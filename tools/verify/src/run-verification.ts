import type { Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { ClientVerifier, type VerificationContext } from './client-verifier.ts';
import { drawConnectedUsers } from './connected-users.ts';
import { formatPayload, type Event } from './event.ts';
import { EventGenerator } from './event-generator.ts';
import { streamEvents } from './event-source.ts';
import { FailureLog } from './failure-log.ts';
import { LatencyTracker } from './latency-tracker.ts';
import { NotificationOracle } from './notification-oracle.ts';
import { RunTally } from './run-tally.ts';
import { RandomStream, streamFor } from './seeded-random.ts';
import { CHUNK_TARGET_BYTES, ShuffledBatchEncoder } from './shuffled-batch-encoder.ts';
import { connect } from './tcp.ts';
import { UserClient } from './user-client.ts';
import { DEFAULT_GRACE_MS, DEFAULT_SOURCE_START_DELAY_MS, type LiveProgress, type VerificationOptions } from './verification-options.ts';
import type { VerificationReport } from './verification-report.ts';

/** How often timeouts, completion and the source's pause are checked. */
const MONITOR_INTERVAL_MS = 50;
const PROGRESS_INTERVAL_MS = 1000;
/**
 * The source pauses while this many notifications are expected and not yet
 * received (about 13 bytes each in the expected queues), so that a server
 * that swallows events faster than it delivers cannot grow this client's
 * memory without bound. A server keeping up never comes near it.
 */
const MAX_IN_FLIGHT_NOTIFICATIONS = 2_000_000;
const RESUME_IN_FLIGHT_NOTIFICATIONS = MAX_IN_FLIGHT_NOTIFICATIONS / 2;
/**
 * At a capped rate the source writes about this often instead of in 64 KiB bursts
 * (100 ms apart at 50,000 events/s), so that a fault meets a steady stream and the
 * first events sent after it leave within milliseconds.
 */
const PACED_WRITE_INTERVAL_MS = 10;
/** A generous length of one event line, to size the paced writes. */
const EVENT_LINE_BYTES = 16;

/**
 * Runs one standard verification against a server: connects the user
 * clients, starts the event source, checks every notification, and reports.
 * Server misbehaviour never throws: it yields `ok: false` with failures.
 */
export async function runVerification(options: VerificationOptions): Promise<VerificationReport> {
  return new VerificationRun(options).run();
}

class VerificationRun {
  private readonly tally = new RunTally();
  private readonly failures = new FailureLog();
  private readonly latency = new LatencyTracker();
  private readonly generator: EventGenerator;
  private readonly verifiers: ClientVerifier[];
  private readonly clients: UserClient[];
  private readonly startedAt = performance.now();
  private lastProgressAt = this.startedAt;
  private sourceSocket: Socket | undefined;
  private allEventsSent = false;
  private graceStartedAt: number | undefined;
  private resumeSource: (() => void) | undefined;
  private readonly monitor: NodeJS.Timeout;
  private finished = false;
  private readonly ended: Promise<void>;
  private signalEnded: () => void = () => {};

  constructor(private readonly options: VerificationOptions) {
    const context: VerificationContext = {
      failures: this.failures,
      latency: this.latency,
      tally: this.tally,
      now: () => performance.now(),
      onNotification: options.onMessage && ((userId, payload) => options.onMessage?.({ direction: 'notification', userId, payload })),
    };
    const userIds = drawConnectedUsers(options.randomSeed, options.concurrencyLevel, options.numberOfUsers);
    this.verifiers = userIds.map((userId) => new ClientVerifier(userId, context));
    const { clientHost: host, clientPorts: ports, lineEnding, timeoutMs, reconnect = false, onIdLineSent } = options;
    this.clients = this.verifiers.map(
      (verifier, index) =>
        new UserClient(verifier, { host, ports, firstPortIndex: index, lineEnding, timeoutMs, reconnect, onIdLineSent }, () => this.end()),
    );
    this.generator = new EventGenerator(options);
    this.ended = new Promise((resolve) => (this.signalEnded = resolve));
    this.monitor = setInterval(() => this.tick(), MONITOR_INTERVAL_MS);
  }

  async run(): Promise<VerificationReport> {
    this.options.onStart?.(() => this.liveProgress());
    this.drive().catch((error: unknown) => {
      this.failures.record(() => `internal error: ${error instanceof Error ? error.stack : String(error)}`);
      this.end();
    });
    await this.ended;
    return this.report();
  }

  private async drive(): Promise<void> {
    const opened = await Promise.all(this.clients.map((client) => client.open()));
    if (!opened.every(Boolean)) return this.end();
    await delay(this.options.sourceStartDelayMs ?? DEFAULT_SOURCE_START_DELAY_MS);
    if (this.finished) return;
    const socket = await this.connectSource();
    if (socket === undefined) return;
    const encoder = this.newEncoder();
    this.allEventsSent = await streamEvents(socket, {
      nextChunk: () => encoder.nextChunk(),
      ready: () => this.sourceMayContinue(),
      written: () => this.chunkWritten(),
    });
  }

  private async connectSource(): Promise<Socket | undefined> {
    const { eventHost, eventPort, timeoutMs } = this.options;
    let socket: Socket;
    try {
      socket = await connect(eventHost, eventPort, timeoutMs);
    } catch (error) {
      this.failures.record(() => `event source cannot connect to ${eventHost}:${eventPort}: ${(error as Error).message}`);
      this.end();
      return undefined;
    }
    if (this.finished) {
      socket.destroy();
      return undefined;
    }
    this.sourceSocket = socket;
    let lastError: Error | undefined;
    socket.on('error', (error) => (lastError = error));
    socket.on('close', () => {
      if (this.finished || this.allEventsSent) return;
      const cause = lastError === undefined ? 'closed by the server' : `lost (${lastError.message})`;
      const sent = this.tally.eventsSent;
      this.failures.record(() => `event source connection ${cause} after ${sent} of ${this.options.totalEvents} events`);
      this.end();
    });
    return socket;
  }

  /** Generates events in sequence order, telling each expected recipient before the event goes out. */
  private newEncoder(): ShuffledBatchEncoder {
    const oracle = new NotificationOracle(
      this.verifiers.map((verifier) => verifier.userId),
      this.options.numberOfUsers,
    );
    const verifierByUser: Array<ClientVerifier | undefined> = Array.from({ length: this.options.numberOfUsers + 1 });
    for (const verifier of this.verifiers) verifierByUser[verifier.userId] = verifier;
    const recipients = new Uint32Array(oracle.maxRecipients);
    const onMessage = this.options.onMessage;
    const feed = {
      next: (into: Event): boolean => {
        if (!this.generator.next(into)) return false;
        const count = oracle.apply(into, recipients);
        for (let i = 0; i < count; i++) verifierByUser[recipients[i]!]!.expect(into);
        // Timed as generated: the chunk holding the event is written within the same turn.
        this.latency.sent(into.seq, count);
        onMessage?.({ direction: 'event', payload: formatPayload(into) });
        return true;
      },
    };
    const shuffleRandom = streamFor(this.options.randomSeed, RandomStream.shuffle);
    const rate = this.options.maxEventsPerSecond;
    const chunkBytes = rate === undefined ? CHUNK_TARGET_BYTES : Math.min(CHUNK_TARGET_BYTES, Math.ceil((rate * EVENT_LINE_BYTES * PACED_WRITE_INTERVAL_MS) / 1000));
    return new ShuffledBatchEncoder(feed, this.options.maxEventSourceBatchSize, shuffleRandom, this.options.lineEnding, chunkBytes);
  }

  private async sourceMayContinue(): Promise<void> {
    const rate = this.options.maxEventsPerSecond;
    if (rate !== undefined && this.tally.firstEventSentAt !== undefined) {
      const aheadMs = (this.tally.eventsSent / rate) * 1000 - (performance.now() - this.tally.firstEventSentAt);
      if (aheadMs > 0) await delay(aheadMs);
    }
    if (this.finished || this.tally.outstanding < MAX_IN_FLIGHT_NOTIFICATIONS) return;
    await new Promise<void>((resolve) => (this.resumeSource = resolve));
  }

  private chunkWritten(): void {
    const now = performance.now();
    this.tally.firstEventSentAt ??= now;
    this.tally.lastEventSentAt = now;
    this.tally.eventsSent = this.generator.eventsGenerated;
  }

  private tick(): void {
    const now = performance.now();
    if (this.resumeSource !== undefined && this.tally.outstanding <= RESUME_IN_FLIGHT_NOTIFICATIONS) this.releaseSource();
    let timedOut = false;
    for (const verifier of this.verifiers) timedOut = verifier.checkTimeout(now, this.options.timeoutMs) || timedOut;
    if (timedOut) return this.end();
    if (this.allEventsSent && this.tally.outstanding === 0) {
      this.graceStartedAt ??= now;
      if (now - this.graceStartedAt >= (this.options.graceMs ?? DEFAULT_GRACE_MS)) return this.end();
    } else {
      // A reconnected client's first notification can make notifications it may have lost expected again.
      this.graceStartedAt = undefined;
    }
    if (this.options.onProgress !== undefined && now - this.lastProgressAt >= PROGRESS_INTERVAL_MS) {
      this.lastProgressAt = now;
      this.options.onProgress(this.liveProgress());
    }
  }

  private liveProgress(): LiveProgress {
    const { eventsSent, notificationsReceived, notificationsExpected, highestSeqReceived } = this.tally;
    return { eventsSent, notificationsReceived, notificationsExpected, highestSeqReceived, elapsedMs: performance.now() - this.startedAt };
  }

  private releaseSource(): void {
    const resume = this.resumeSource;
    this.resumeSource = undefined;
    resume?.();
  }

  /** Stops everything: no timer, socket or paused source outlives the run. */
  private end(): void {
    if (this.finished) return;
    this.finished = true;
    clearInterval(this.monitor);
    for (const client of this.clients) client.close();
    this.sourceSocket?.destroy();
    this.releaseSource();
    for (const verifier of this.verifiers) verifier.finish();
    this.signalEnded();
  }

  private report(): VerificationReport {
    const tally = this.tally;
    const histogram = this.latency.histogram;
    const lastActivityAt = Math.max(tally.lastNotificationAt, tally.lastEventSentAt);
    const durationMs = tally.firstEventSentAt === undefined ? 0 : lastActivityAt - tally.firstEventSentAt;
    const perSecond = (count: number): number => (durationMs > 0 ? (count * 1000) / durationMs : 0);
    return {
      ok: this.failures.count === 0,
      clientsReconnected: this.verifiers.filter((verifier) => verifier.reconnects > 0).length,
      notificationsMissedOffline: this.verifiers.reduce((sum, verifier) => sum + verifier.notificationsMissedOffline, 0),
      failures: this.failures.summary(),
      eventsSent: tally.eventsSent,
      notificationsReceived: tally.notificationsReceived,
      notificationsExpected: tally.notificationsExpected,
      durationMs,
      eventsPerSecond: perSecond(tally.eventsSent),
      notificationsPerSecond: perSecond(tally.notificationsReceived),
      latencyMs: { p50: histogram.percentileMs(0.5), p99: histogram.percentileMs(0.99), samples: histogram.samples },
    };
  }
}
