import { createServer, type Server, type Socket } from 'node:net';
import type { RedisClient as Redis } from '@follower-maze/shared';
import {
  Counters, formatAddressList, isAddressAllowed, listenOn, parseEvent, ThrottledWarning,
  type IngestConfig, type Keys, type Logger, type RejectionLog, type ServiceMetrics, type WaitReport,
} from '@follower-maze/shared';
import { INGEST_COUNTERS, REJECTION_COUNTERS, type IngestCounter, type IngestState, type RejectionReason } from './ingest-metrics.ts';
import { SourceConnection, type SourceListener } from './source-connection.ts';
import { SourceGate } from './source-gate.ts';
import { StreamAppender } from './stream-appender.ts';

/**
 * The TCP server for the event source: closes connections from addresses outside
 * EVENT_SOURCE_ALLOW at once, admits at most `maxSources` sources, validates
 * each of their lines against the event grammar, and hands accepted lines, untouched, to
 * the stream appender. Reading stops while the appender reports back-pressure.
 */
export class EventIngest implements SourceListener, IngestState {
  readonly counters: Counters<IngestCounter>;
  private readonly server: Server;
  private readonly connections = new Set<SourceConnection>();
  private readonly gate: SourceGate;
  private readonly appender: StreamAppender;
  private readonly refusals: ThrottledWarning;
  private readonly notAllowed: ThrottledWarning;
  private isPaused = false;

  constructor(
    redis: Redis,
    keys: Keys,
    private readonly config: IngestConfig,
    private readonly rejections: RejectionLog,
    private readonly logger: Logger,
    waits: WaitReport,
    metrics: ServiceMetrics,
  ) {
    this.counters = new Counters(metrics, INGEST_COUNTERS);
    const shortWaits = new ThrottledWarning(logger, 'fewer replicas than REDIS_WAIT_REPLICAS took appended events: a failover now could lose them');
    this.appender = new StreamAppender(redis, keys, config, {
      backPressure: (paused) => this.setPaused(paused),
      // A refusal is said by the wait report while it lasts (not once per retry); here it is counted.
      refused: () => this.counters.add('appendErrors'),
      waitFellShort: (replicas) => {
        this.counters.add('waitsShort');
        shortWaits.warn(replicas instanceof Error ? { err: replicas.message } : { replicas, wanted: config.waitReplicas });
      },
    }, waits);
    this.gate = new SourceGate(config.maxSources);
    this.refusals = new ThrottledWarning(logger, 'event source refused: as many sources as INGEST_MAX_SOURCES are connected');
    this.notAllowed = new ThrottledWarning(logger, 'event source refused: its address is not in EVENT_SOURCE_ALLOW');
    // Half-open allowed: a source that sends its last event and shuts down its side while
    // it waits for the slot must keep its socket, and so its events, until it is admitted.
    this.server = createServer({ allowHalfOpen: true }, (socket) => this.accept(socket));
  }

  get eventsAppended(): number {
    return this.appender.eventsAppended;
  }

  /** Whether the sources are held unread by back-pressure. */
  get paused(): boolean {
    return this.isPaused;
  }

  get unreadEntries(): number {
    return this.appender.unreadEntries;
  }

  async listen(host: string, port: number): Promise<number> {
    return listenOn(this.server, host, port);
  }

  /**
   * Stops accepting and appends everything accepted. Connected sources are cut: one that
   * is paused or never stops sending would otherwise hold the close forever; what they
   * sent after their last complete line is theirs to resend.
   */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.gate.close();
    for (const connection of this.connections) connection.destroy();
    await closed;
    await this.appender.drain();
    this.appender.close();
  }

  line(text: string): boolean {
    if (text.length === 0) return false;
    const parsed = parseEvent(text);
    if (!parsed.ok) {
      this.reject('malformed', parsed.reason, text);
      return false;
    }
    this.counters.add('eventsAccepted');
    this.appender.add(text);
    return true;
  }

  reject(reason: RejectionReason, detail: string, input: string): void {
    this.counters.add(REJECTION_COUNTERS[reason]);
    this.rejections.record(`event source: ${detail}`, input);
  }

  admitted(): void {
    this.counters.add('sourcesConnected');
  }

  ended(): void {
    this.appender.flush();
  }

  refused(remote: string): void {
    this.counters.add('sourcesRefused');
    this.refusals.warn({ remote, maxSources: this.config.maxSources });
    this.rejections.record(`event source: refused, ${this.config.maxSources} source(s) already connected`, remote);
  }

  closed(connection: SourceConnection): void {
    this.connections.delete(connection);
    if (connection.role === 'silent') this.counters.add('probes');
  }

  private accept(socket: Socket): void {
    if (!isAddressAllowed(this.config.allowedSources, socket.remoteAddress)) {
      this.refuseAddress(socket);
      return;
    }
    const connection = new SourceConnection(socket, this.gate, this, this.logger, this.config.maxLineBytes, !this.isPaused);
    this.connections.add(connection);
  }

  /** Before it can send a byte: whoever sends events decides what every user is told. */
  private refuseAddress(socket: Socket): void {
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.on('error', () => undefined);
    socket.destroy();
    this.counters.add('sourcesNotAllowed');
    this.notAllowed.warn({ remote, allowed: formatAddressList(this.config.allowedSources) });
    this.rejections.record('event source: refused, its address is not in EVENT_SOURCE_ALLOW', remote);
  }

  private setPaused(paused: boolean): void {
    this.isPaused = paused;
    if (paused) this.counters.add('pauses');
    this.gate.setReading(!paused);
    for (const connection of this.connections) connection.setReading(!paused);
  }
}
