import type { Redis } from 'ioredis';
import { decodeGatewayEvent, type GatewayEvent, type Keys, type Logger } from '@follower-maze/shared';
import type { InFlightWindow } from './core/in-flight-window.ts';
import type { Router } from './core/router.ts';
import type { GatewayProgress } from './sequencer.ts';

/**
 * Keeps the sequencer's view of the gateways: who is online where (by push, within
 * milliseconds of a client's id line), how far each gateway has got, and which
 * gateways have gone silent and must be forgotten.
 */
export class GatewayTracker implements GatewayProgress {
  private readonly lastSeenMs = new Map<string, number>();
  /** The last batch each gateway said it received; absent until it says. */
  private readonly acknowledged = new Map<string, number>();
  private progressWaiters: (() => void)[] = [];
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly subscriber: Redis,
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
   */
  async start(): Promise<void> {
    const early: GatewayEvent[] = [];
    let loaded = false;
    this.subscriber.on('message', (_channel: string, message: string) => {
      const event = decodeGatewayEvent(message);
      if (!event) return this.logger.warn({ message }, 'unreadable gateway event');
      if (loaded) this.apply(event);
      else early.push(event);
    });
    await this.subscriber.subscribe(this.keys.gatewayEvents);
    await this.loadSnapshot();
    loaded = true;
    for (const event of early) this.apply(event);
    this.sweepTimer = setInterval(() => void this.sweep(), Math.max(100, this.gatewayTtlMs / 5));
  }

  /** Resolves when a gateway reports progress or goes away, or after `timeoutMs`. */
  progress(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.progressWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  slowestAcknowledged(): number {
    if (this.acknowledged.size < this.lastSeenMs.size) return 0;
    let slowest = Infinity;
    for (const batchSeq of this.acknowledged.values()) slowest = Math.min(slowest, batchSeq);
    return Number.isFinite(slowest) ? slowest : 0;
  }

  close(): void {
    clearInterval(this.sweepTimer);
    this.subscriber.disconnect();
    this.wakeWaiters();
  }

  private async loadSnapshot(): Promise<void> {
    const heartbeats = await this.redis.hgetall(this.keys.gateways);
    const now = Date.now();
    for (const [gatewayId, heartbeat] of Object.entries(heartbeats)) {
      const seenMs = Number(heartbeat);
      if (now - seenMs > this.gatewayTtlMs) {
        await this.forgetInRedis(gatewayId);
        continue;
      }
      this.lastSeenMs.set(gatewayId, seenMs);
      for (const userId of await this.redis.smembers(this.keys.presence(gatewayId))) {
        this.router.join(gatewayId, Number(userId));
      }
    }
    this.logger.info({ gateways: this.lastSeenMs.size }, 'gateways loaded');
  }

  private apply(event: GatewayEvent): void {
    const { gatewayId } = event;
    switch (event.kind) {
      case 'join':
        this.lastSeenMs.set(gatewayId, Date.now());
        this.router.join(gatewayId, event.userId);
        return;
      case 'leave':
        this.lastSeenMs.set(gatewayId, Date.now());
        this.router.leave(gatewayId, event.userId);
        return;
      case 'ack':
        this.lastSeenMs.set(gatewayId, Date.now());
        this.acknowledged.set(gatewayId, event.batchSeq);
        this.window.acknowledge(gatewayId, event.batchSeq);
        this.wakeWaiters();
        return;
      case 'gone':
        this.forget(gatewayId);
        return;
    }
  }

  private async sweep(): Promise<void> {
    const now = Date.now();
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
    this.wakeWaiters();
  }

  private async forgetInRedis(gatewayId: string): Promise<void> {
    await this.redis.multi().hdel(this.keys.gateways, gatewayId).del(this.keys.presence(gatewayId)).exec();
  }

  private wakeWaiters(): void {
    const waiters = this.progressWaiters;
    this.progressWaiters = [];
    for (const wake of waiters) wake();
  }
}
