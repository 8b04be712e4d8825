import { createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import type { RedisClient as Redis } from '@follower-maze/shared';
import type { Histogram } from 'prom-client';
import {
  bodyAfter, Counters, decodeBatchMarker, decodeDelivery, encodeGatewayEvent, listenOn, notificationsIn, ThrottledWarning,
  type GatewayConfig, type Keys, type Logger, type RejectionLog, type ServiceMetrics, type WaitReport,
} from '@follower-maze/shared';
import { BatchCompletion, type MarkerOutcome } from './batch-completion.ts';
import { readUserId } from './client-handshake.ts';
import type { DeliveryFeed } from './delivery-feed.ts';
import { readDeliveryLog } from './delivery-log.ts';
import { GATEWAY_COUNTERS, joinLatencyHistogram, type GatewayCounter, type GatewayState } from './gateway-metrics.ts';
import { GatewayPresence } from './gateway-presence.ts';
import { PacedWrites } from './paced-writes.ts';
import { ProgressReporter } from './progress-reporter.ts';
import { SendBuffers, type OverflowReason } from './send-buffers.ts';
import { UserSessions, type UserSession } from './user-sessions.ts';

/** Pause before a failed catch-up is tried again. */
const CATCH_UP_RETRY_MS = 200;
/** Idle time before TCP keep-alive probes a client, so that one gone for good is noticed. */
const KEEP_ALIVE_IDLE_MS = 10_000;

/**
 * Holds user client sockets and writes them what the sequencer publishes on their
 * users' channels. The delivery feed carries every channel of this process: on one Redis
 * one subscriber connection, so Redis hands over deliveries in publish order, the order
 * the sequencer committed them; on a Redis Cluster one connection per master, each in the
 * order the sequencer published there, and a user's deliveries are all on the user's one
 * channel. A batch counts as received once its marker came on every batch-end channel
 * (BatchCompletion). When a connection drops, what was published meanwhile is read back
 * from the delivery log before live messages flow again. Deliveries reach the sockets a
 * slice of writes per turn of the event loop (PacedWrites), and a batch is acknowledged
 * once its deliveries are written.
 */
export class Gateway implements GatewayState {
  readonly counters: Counters<GatewayCounter>;
  private readonly joinLatency: Histogram;
  private readonly server: Server;
  private readonly sessions: UserSessions;
  private readonly progress: ProgressReporter;
  private readonly sockets = new Set<Socket>();
  private readonly buffers: SendBuffers;
  private readonly writes: PacedWrites;
  /** The batches received from every batch-end channel. */
  private readonly completion: BatchCompletion;
  /** The epoch of the sequence (an operator's reset starts a new one). */
  private epoch = 0;
  /** Set from a subscriber drop until the delivery log has been read back. */
  private catchingUp = false;
  private catchUpRunning = false;
  /** A drop, or the feed back, while a catch-up was running: it must subscribe and read the log once more. */
  private catchUpAgain = false;
  private readonly heldBack: [channel: string, message: Buffer, batchEnd: string][] = [];
  private closing = false;
  private readonly rejections: RejectionLog;
  private readonly waits: WaitReport;
  private readonly warnings: Readonly<Record<'refused' | 'acceptFailed' | 'joinFailed' | 'leaveFailed' | OverflowReason, ThrottledWarning>>;

  constructor(
    private readonly feed: DeliveryFeed,
    private readonly redis: Redis,
    private readonly keys: Keys,
    readonly gatewayId: string,
    private readonly config: GatewayConfig,
    { rejections, waits, metrics }: { readonly rejections: RejectionLog; readonly waits: WaitReport; readonly metrics: ServiceMetrics },
    private readonly logger: Logger,
  ) {
    this.counters = new Counters(metrics, GATEWAY_COUNTERS);
    this.joinLatency = joinLatencyHistogram(metrics);
    this.rejections = rejections;
    this.waits = waits;
    this.warnings = {
      refused: new ThrottledWarning(logger, 'client refused: this gateway holds GATEWAY_MAX_CLIENTS clients'),
      acceptFailed: new ThrottledWarning(logger, 'could not accept a client'),
      joinFailed: new ThrottledWarning(logger, 'could not subscribe a user'),
      leaveFailed: new ThrottledWarning(logger, 'could not announce a user offline'),
      client: new ThrottledWarning(logger, 'slow client disconnected'),
      total: new ThrottledWarning(
        logger, 'client with the most unsent bytes disconnected: all clients together passed GATEWAY_MAX_BUFFERED_BYTES',
      ),
    };
    const presence = new GatewayPresence(redis, keys, gatewayId, waits);
    this.sessions = new UserSessions(feed, presence, keys);
    this.completion = new BatchCompletion(feed.batchEndChannels, keys.cluster);
    this.progress = new ProgressReporter(redis, keys, gatewayId, presence, config.ackIntervalMs, config.heartbeatIntervalMs, waits, () => ({
      clients: this.clientCount, unsentBytes: this.bufferedBytes, notificationsWritten: this.counters.get('notificationsWritten'),
    }));
    this.buffers = new SendBuffers(config.maxClientBufferBytes, config.maxBufferedBytes, (socket, reason, unsentBytes) =>
      this.overflowed(socket, reason, unsentBytes),
    );
    this.writes = new PacedWrites((socket, chunk) => this.writeNow(socket, chunk));
    // A client that closed is gone (unless half-open clients are allowed, which may shut
    // down their sending side after the id line and go on reading; one that closed
    // altogether then looks the same until a write to it fails, or TCP keep-alive finds it).
    this.server = createServer({ allowHalfOpen: config.allowHalfOpen }, (socket) => this.onConnection(socket));
    this.progress.onForgotten(() => this.disconnectAll('the sequencer had taken this gateway for dead: its users missed deliveries'));
    feed.listen({
      message: (channel, message, batchEnd) => this.onMessage(channel, message, batchEnd),
      dropped: () => this.onFeedDropped(),
      ready: () => this.onFeedReady(),
    });
  }

  /** Serves the clients that connect to `host:port`; resolves with the port bound. */
  async listen(host: string, port: number): Promise<number> {
    await this.feed.start();
    this.completion.setChannels(this.feed.batchEndChannels);
    // After subscribing: a batch committed in between is then either seen or counted here.
    const [batchSeq, epoch] = await this.redis.hmget(this.keys.position, 'batchSeq', 'epoch');
    this.epoch = Math.max(this.epoch, Number(epoch ?? 0));
    this.progress.received(this.completion.sync(Number(batchSeq ?? 0)));
    const bound = await listenOn(this.server, host, port);
    // An accept that fails (ENOBUFS, ENOMEM) is an 'error' of the server: it must go on, not crash.
    this.server.on('error', (error: Error) => {
      this.counters.add('acceptErrors');
      this.warnings.acceptFailed.warn({ err: error.message, clients: this.sockets.size });
    });
    // After listening: a gateway in the gateways hash accepts clients (the stack's readiness check relies on it).
    await this.progress.heartbeat();
    return bound;
  }

  /** Open client sockets, in the handshake or served. */
  get clientCount(): number {
    return this.sockets.size;
  }

  /** Users with at least one client here. */
  get userCount(): number {
    return this.sessions.userCount;
  }

  /** Bytes written to clients that have not left the process yet. */
  get bufferedBytes(): number {
    return this.buffers.total;
  }

  async close(): Promise<void> {
    this.closing = true;
    this.progress.close();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
    await this.redis
      .multi()
      .hdel(this.keys.gateways, this.gatewayId)
      .del(this.keys.presence(this.gatewayId))
      .publish(this.keys.gatewayEvents, encodeGatewayEvent({ kind: 'gone', gatewayId: this.gatewayId }))
      .exec();
  }

  private onConnection(socket: Socket): void {
    socket.on('error', () => undefined);
    if (this.sockets.size >= this.config.maxClients) this.refuse(socket);
    else void this.accept(socket);
  }

  /** Past the cap a connection is closed at once: each one costs a descriptor and memory whether it is served or not. */
  private refuse(socket: Socket): void {
    const client = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.destroy();
    this.counters.add('clientsRefused');
    this.warnings.refused.warn({ client, maxClients: this.config.maxClients });
    this.rejections.record(`user client: refused, this gateway holds its maximum of ${this.config.maxClients} clients`, client);
  }

  private async accept(socket: Socket): Promise<void> {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEP_ALIVE_IDLE_MS);
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.buffers.release(socket);
    });
    // Nothing more will be read from a client that ended its side: drop what is queued for it rather than wait for it to be read.
    if (!this.config.allowHalfOpen) socket.on('end', () => socket.destroy());
    const handshake = await readUserId(socket, this.config.maxIdLineBytes, this.config.idLineTimeoutMs);
    if (!handshake.ok && 'probe' in handshake) {
      this.counters.add('probes');
      socket.destroy();
      return;
    }
    if (!handshake.ok) {
      this.counters.add('clientsRejected');
      this.rejections.record(`user client: ${handshake.reason}`, handshake.input);
      socket.destroy();
      return;
    }
    const { userId } = handshake;
    if (socket.destroyed) return;
    this.counters.add('clientsConnected');
    const idLineAt = performance.now();
    socket.on('close', () =>
      void this.sessions.remove(userId, socket).catch((error: Error) => this.warnings.leaveFailed.warn({ userId, err: error.message })),
    );
    await this.sessions.add(userId, socket, this.completion.lastBatch).then(
      () => this.joinLatency.observe((performance.now() - idLineAt) / 1000),
      (error: Error) => {
        this.warnings.joinFailed.warn({ userId, err: error.message });
        socket.destroy();
      },
    );
  }

  private onMessage(channel: string, message: Buffer, batchEnd: string): void {
    if (this.catchingUp) this.heldBack.push([channel, message, batchEnd]);
    else this.handle(channel, message, batchEnd);
  }

  private handle(channel: string, message: Buffer, batchEnd: string): void {
    if (channel === batchEnd) {
      this.onBatchMarker(channel, message.toString());
      return;
    }
    const session = this.sessions.byChannelName(channel);
    if (session) this.deliver(session, message);
  }

  private onBatchMarker(channel: string, text: string): void {
    const marker = decodeBatchMarker(text);
    if (!marker || !this.isCurrentEpoch(marker.epoch)) return;
    const outcome = this.completion.marker(channel, marker);
    if (outcome.gapAfter !== undefined) {
      // Pub/sub lost messages without the connection dropping; the batches between are
      // already overtaken, so the clients could only be served out of order.
      this.disconnectAll(`missed batches ${outcome.gapAfter}..${marker.previousSeq} without a subscriber drop`);
    }
    this.settle(outcome);
  }

  /**
   * Reported once the batch's deliveries are written: what waits to be written counts as in
   * flight. A new sequencer term numbers batches afresh; notifications stay deduplicated by
   * sequence number.
   */
  private settle({ stale, gapAfter, advance }: MarkerOutcome): void {
    if (stale) this.counters.add('staleMarkers');
    if (gapAfter !== undefined) this.counters.add('gaps');
    if (!advance) return;
    const { batchSeq } = advance;
    if (advance.rebase) this.writes.afterWritten(() => this.progress.rebase(batchSeq));
    else this.writes.afterWritten(() => this.progress.received(batchSeq));
  }

  /** False for what belongs to an older epoch; a newer one means the operator reset the sequence. */
  private isCurrentEpoch(epoch: number): boolean {
    if (epoch < this.epoch) {
      this.counters.add('staleDeliveries');
      return false;
    }
    if (epoch > this.epoch) {
      this.logger.info({ epoch }, 'the sequence was reset: starting again from 1');
      this.epoch = epoch;
      for (const session of this.sessions.all()) session.restart();
      this.completion.restart();
      this.writes.afterWritten(() => this.progress.rebase(0));
    }
    return true;
  }

  /** Writes what the user has not been sent yet: a delivery may repeat or overlap one already written. */
  private deliver(session: UserSession, message: Buffer): void {
    const delivery = decodeDelivery(message);
    if (!delivery) {
      this.counters.add('unreadableDeliveries');
      return;
    }
    if (!this.isCurrentEpoch(delivery.epoch)) return;
    if (delivery.lastSeq <= session.lastSeq) {
      this.counters.add('repeatedDeliveries');
      return;
    }
    const body = delivery.firstSeq > session.lastSeq ? delivery.body : bodyAfter(delivery.body, session.lastSeq);
    session.lastSeq = delivery.lastSeq;
    this.counters.add('deliveries');
    this.write(session, body);
  }

  private write(session: UserSession, body: Buffer): void {
    for (const socket of session.sockets) this.writes.write(socket, body);
  }

  /** Counted as handed to the socket: what PacedWrites drops for a socket closed meanwhile was never written. */
  private writeNow(socket: Socket, chunk: Buffer): void {
    this.buffers.write(socket, chunk);
    this.counters.add('bytesWritten', chunk.length);
    this.counters.add('notificationsWritten', notificationsIn(chunk));
  }

  private overflowed(socket: Socket, reason: OverflowReason, unsentBytes: number): void {
    this.counters.add(reason === 'client' ? 'slowClientsDropped' : 'totalBufferDrops');
    this.warnings[reason].warn({ client: `${socket.remoteAddress}:${socket.remotePort}`, unsentBytes, totalBytes: this.buffers.total });
  }

  private onFeedDropped(): void {
    if (this.closing) return;
    // What the running catch-up subscribed may have gone with the connection.
    if (this.catchUpRunning) this.catchUpAgain = true;
    if (this.catchingUp) return;
    this.counters.add('subscriberDrops');
    this.catchingUp = true;
    const lastBatch = this.completion.lastBatch;
    this.waits.begin('catch-up', `the subscriber connection to come back and the delivery log from batch ${lastBatch} to be read`);
    this.logger.warn({ lastBatch }, 'subscriber connection dropped: holding deliveries until caught up');
  }

  private onFeedReady(): void {
    if (!this.catchingUp) return;
    if (this.catchUpRunning) this.catchUpAgain = true;
    else void this.catchUp();
  }

  /** Replays the delivery log after the last batch received, then what arrived meanwhile, in order; one at a time. */
  private async catchUp(): Promise<void> {
    this.catchUpRunning = true;
    try {
      for (;;) {
        this.catchUpAgain = false;
        try {
          await this.readBack();
        } catch (error) {
          if (this.closing) return;
          this.logger.debug({ err: (error as Error).message }, 'catch-up failed; retrying');
          await delay(CATCH_UP_RETRY_MS);
          continue;
        }
        if (!this.catchUpAgain) break;
      }
    } finally {
      this.catchUpRunning = false;
    }
    for (const [channel, message, batchEnd] of this.heldBack.splice(0)) this.handle(channel, message, batchEnd);
    this.catchingUp = false;
    this.waits.end('catch-up');
    this.logger.info({ lastBatch: this.completion.lastBatch }, 'caught up after the subscriber drop');
  }

  private async readBack(): Promise<void> {
    // A new slot map may name other masters, and so other batch-end channels.
    this.completion.setChannels(this.feed.batchEndChannels);
    // Every channel again (the connections do not resubscribe by themselves, see gateway-service.ts)
    // before the log is read, so that nothing committed from here on can miss both.
    await this.sessions.resubscribe();
    // A reset while away numbers batches from 1 again: start the log from its beginning.
    this.isCurrentEpoch(Number((await this.redis.hget(this.keys.position, 'epoch')) ?? 0));
    for await (const batch of readDeliveryLog(this.redis, this.keys, this.completion.lastBatch)) {
      if (!this.isCurrentEpoch(batch.marker.epoch)) continue;
      const outcome = this.completion.logged(batch.marker);
      if (outcome.gapAfter !== undefined) {
        this.disconnectAll(`the delivery log starts after batch ${batch.marker.previousSeq}, this gateway had ${outcome.gapAfter}`);
      }
      for (const [userId, message] of batch.deliveries) {
        const session = this.sessions.byUserId(userId);
        if (session && batch.marker.batchSeq > session.joinedAfterBatch) this.deliver(session, message);
      }
      this.settle(outcome);
      this.counters.add('batchesCaughtUp');
    }
  }

  /** Clients reconnect (through the balancer) and are served consistently from then on. */
  private disconnectAll(reason: string): void {
    this.logger.error({ reason, clients: this.sockets.size }, 'disconnecting every client of this gateway');
    for (const socket of this.sockets) socket.destroy();
  }
}
