import type { RedisClient as Redis } from '@follower-maze/shared';
import { decodeGatewayEvent, execTransaction, Waiters, type GatewayEvent, type Keys, type Logger } from '@follower-maze/shared';
import type { InFlightWindow } from './core/in-flight-window.ts';
import type { Router } from './core/router.ts';
import type { GatewayProgress } from './sequencer.ts';

/**
 * The connection the gateways' announcements arrive on: one Redis connection, or on a
 * Redis Cluster a ClusterChannelSubscriber. `close` and `ready` bound the time in which
 * announcements may have been missed.
 */
export interface ChannelSubscriber {
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  on(event: 'close' | 'ready', listener: () => void): unknown;
  subscribe(...channels: string[]): Promise<unknown>;
  disconnect(): void;
}

/** Pause before a failed snapshot load is tried again. */
const RESYNC_RETRY_MS = 200;

/**
 * Keeps the sequencer's view of the gateways: who is online where (by push, within
 * milliseconds of a client's id line), how far each gateway has got, and which
 * gateways have gone silent and must be forgotten.
 *
 * A gateway's silence is measured on this process's own monotonic clock, from when its
 * messages were received here; heartbeats in Redis carry Redis's clock (TIME, written by
 * the gateway's heartbeat script) and are aged against Redis's clock. No two hosts'
 * clocks are ever compared: with skew between them, every new term would otherwise
 * forget gateways that are alive, or keep dead ones.
 */
export class GatewayTracker implements GatewayProgress {
  /** When each gateway was last heard of, on this process's monotonic clock (performance.now()). */
  private readonly lastSeenMs = new Map<string, number>();
  /** The last batch each gateway said it received; absent until it says. */
  private readonly acknowledged = new Map<string, number>();
  private readonly progressWaiters = new Waiters();
  /** Gateway events held while the snapshot loads; undefined when they apply at once. */
  private heldBack: GatewayEvent[] | undefined;
  private started = false;
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly subscriber: ChannelSubscriber,
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly router: Router,
    private readonly window: InFlightWindow,
    private readonly gatewayTtlMs: number,
    private readonly logger: Logger,
  ) {}

  /**
   * Subscribes first and loads the snapshot second; events that arrive meanwhile are
   * applied after the snapshot, in order, so the result is the latest state either way.
   * The same happens again whenever the subscriber connection comes back after a drop,
   * since the events published meanwhile are lost.
   */
  async start(): Promise<void> {
    this.subscriber.on('message', (_channel: string, message: string) => {
      const event = decodeGatewayEvent(message);
      if (!event) return this.logger.warn({ message }, 'unreadable gateway event');
      if (this.heldBack) this.heldBack.push(event);
      else this.apply(event);
    });
    this.subscriber.on('close', () => (this.heldBack ??= []));
    this.subscriber.on('ready', () => {
      if (this.heldBack && this.started) void this.resynchronize();
    });
    await this.subscriber.subscribe(this.keys.gatewayEvents);
    await this.resynchronize();
    this.started = true;
    this.sweepTimer = setInterval(() => void this.sweep(), Math.max(100, this.gatewayTtlMs / 5));
  }

  private async resynchronize(): Promise<void> {
    this.heldBack ??= [];
    try {
      await this.loadSnapshot();
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'could not load the gateways; retrying');
      setTimeout(() => void this.resynchronize(), RESYNC_RETRY_MS);
      return;
    }
    const events = this.heldBack;
    this.heldBack = undefined;
    for (const event of events) this.apply(event);
  }

  /** Resolves when a gateway reports progress or goes away, or after `timeoutMs`. */
  progress(timeoutMs: number): Promise<void> {
    return this.progressWaiters.wait(timeoutMs);
  }

  slowestAcknowledged(latest: number): number {
    if (this.lastSeenMs.size === 0) return latest;
    if (this.acknowledged.size < this.lastSeenMs.size) return 0;
    let slowest = Infinity;
    for (const batchSeq of this.acknowledged.values()) slowest = Math.min(slowest, batchSeq);
    return Number.isFinite(slowest) ? slowest : 0;
  }

  close(): void {
    clearInterval(this.sweepTimer);
    this.subscriber.disconnect();
    this.progressWaiters.wakeAll();
  }

  /** Makes presence what Redis says it is: joins what is missing, leaves what is gone. */
  private async loadSnapshot(): Promise<void> {
    const [heartbeats, redisNowMs] = await this.heartbeatsWithRedisTime();
    const now = performance.now();
    for (const [gatewayId, heartbeat] of Object.entries(heartbeats)) {
      const silentMs = redisNowMs - Number(heartbeat);
      if (silentMs > this.gatewayTtlMs) {
        await this.forgetInRedis(gatewayId);
        continue;
      }
      // Seen as long ago as its heartbeat's age by Redis's clock, counted back on this process's clock.
      const seenMs = now - Math.max(0, silentMs);
      this.lastSeenMs.set(gatewayId, Math.max(seenMs, this.lastSeenMs.get(gatewayId) ?? seenMs));
      const users = new Set((await this.redis.smembers(this.keys.presence(gatewayId))).map(Number));
      for (const userId of [...this.router.presence.usersOf(gatewayId)]) {
        if (!users.has(userId)) this.router.leave(gatewayId, userId);
      }
      for (const userId of users) this.router.join(gatewayId, userId);
    }
    this.logger.info({ gateways: this.lastSeenMs.size }, 'gateways loaded');
  }

  /** The heartbeats (ms of Redis's clock) and Redis's clock, read together. */
  private async heartbeatsWithRedisTime(): Promise<[heartbeats: Record<string, string>, redisNowMs: number]> {
    const replies = await execTransaction(this.redis.multi().hgetall(this.keys.gateways).time());
    const [heartbeats, [seconds, microseconds]] = replies as [Record<string, string>, [string, string]];
    return [heartbeats, Number(seconds) * 1000 + Math.floor(Number(microseconds) / 1000)];
  }

  private apply(event: GatewayEvent): void {
    const { gatewayId } = event;
    if (event.kind !== 'gone') {
      // A gateway this sequencer does not know (new, or taken for dead while it was paused or
      // cut off): its heartbeat has re-asserted its users in Redis, so read them.
      if (!this.lastSeenMs.has(gatewayId) && this.started && !this.heldBack) void this.resynchronize();
      this.lastSeenMs.set(gatewayId, performance.now());
    }
    switch (event.kind) {
      case 'join':
        for (const userId of event.userIds) this.router.join(gatewayId, userId);
        return;
      case 'leave':
        for (const userId of event.userIds) this.router.leave(gatewayId, userId);
        return;
      case 'ack':
        this.acknowledged.set(gatewayId, event.batchSeq);
        this.window.acknowledge(gatewayId, event.batchSeq);
        this.progressWaiters.wakeAll();
        return;
      case 'gone':
        this.forget(gatewayId);
        return;
    }
  }

  private async sweep(): Promise<void> {
    const now = performance.now();
    for (const [gatewayId, seenMs] of this.lastSeenMs) {
      if (now - seenMs <= this.gatewayTtlMs) continue;
      this.logger.warn({ gatewayId, silentMs: now - seenMs }, 'gateway silent: its users are now offline');
      this.forget(gatewayId);
      await this.forgetInRedis(gatewayId).catch((error: Error) =>
        this.logger.warn({ gatewayId, err: error.message }, 'could not remove a silent gateway'),
      );
    }
  }

  private forget(gatewayId: string): void {
    this.lastSeenMs.delete(gatewayId);
    this.acknowledged.delete(gatewayId);
    this.router.dropGateway(gatewayId);
    this.window.forget(gatewayId);
    this.progressWaiters.wakeAll();
  }

  private async forgetInRedis(gatewayId: string): Promise<void> {
    await this.redis.multi().hdel(this.keys.gateways, gatewayId).del(this.keys.presence(gatewayId)).exec();
  }
}
