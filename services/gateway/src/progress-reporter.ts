import type { Redis } from 'ioredis';
import { encodeGatewayEvent, type Keys, type WaitReport } from '@follower-maze/shared';
import type { GatewayPresence } from './gateway-presence.ts';

/**
 * Stamps this gateway's heartbeat with Redis's clock, never the gateway's own: the
 * sequencer ages heartbeats against Redis's clock too, so skew between hosts cannot make
 * a live gateway look dead. Returns HSET's reply: 1 when the field was created. (A write
 * after TIME is allowed since Redis 5, which replicates a script's effects, not the script.)
 *
 * KEYS[1] gateways hash   ARGV[1] gateway id
 */
const HEARTBEAT_LUA = `
local now = redis.call('TIME')
return redis.call('HSET', KEYS[1], ARGV[1], now[1] * 1000 + math.floor(now[2] / 1000))
`;

type RedisWithHeartbeat = Redis & { fmHeartbeat(gatewaysKey: string, gatewayId: string): Promise<number> };

/**
 * Tells the sequencer how far this gateway has got (the last batch it received), at
 * most every `ackIntervalMs`, and that it is alive, every `heartbeatIntervalMs`.
 */
export class ProgressReporter {
  private batchSeq = 0;
  private reportedSeq = 0;
  private ackTimer: NodeJS.Timeout | undefined;
  private heartbeats = 0;
  private forgotten: () => void = () => undefined;
  private readonly heartbeatTimer: NodeJS.Timeout;
  private readonly redis: RedisWithHeartbeat;

  constructor(
    redis: Redis,
    private readonly keys: Keys,
    private readonly gatewayId: string,
    /** Reconciled with a heartbeat when it may have gone wrong. */
    private readonly presence: GatewayPresence,
    private readonly ackIntervalMs: number,
    heartbeatIntervalMs: number,
    private readonly waits: WaitReport,
  ) {
    redis.defineCommand('fmHeartbeat', { numberOfKeys: 1, lua: HEARTBEAT_LUA });
    this.redis = redis as RedisWithHeartbeat;
    this.heartbeatTimer = setInterval(() => void this.heartbeat().catch(() => undefined), heartbeatIntervalMs);
  }

  /** Every delivery of batches up to `batchSeq` has been handled. */
  received(batchSeq: number): void {
    this.batchSeq = Math.max(this.batchSeq, batchSeq);
    this.ackTimer ??= setTimeout(() => this.sendAck(), this.ackIntervalMs);
  }

  /** Called when a heartbeat finds that the sequencer had dropped this gateway (silent past the TTL). */
  onForgotten(handler: () => void): void {
    this.forgotten = handler;
  }

  /** Batches are numbered afresh (a new term or epoch): report from `batchSeq` on. */
  rebase(batchSeq: number): void {
    this.batchSeq = batchSeq;
    this.reportedSeq = -1;
    this.ackTimer ??= setTimeout(() => this.sendAck(), this.ackIntervalMs);
  }

  /**
   * Says the gateway is alive. The liveness message is published even when Redis refused
   * the heartbeat: Redis takes a PUBLISH while it refuses writes (OOM, MISCONF), and the
   * gateway must not count as dead for that. Then, if the presence set may be wrong
   * (Redis lost or refused a write), it is reconciled.
   *
   * A sequencer that took this gateway for dead (paused, or cut off past the TTL) has
   * deleted its presence set; its users missed what was routed meanwhile, so they are
   * disconnected rather than re-asserted, and reconnect through the balancer.
   */
  async heartbeat(): Promise<void> {
    let created: number;
    try {
      created = await this.redis.fmHeartbeat(this.keys.gateways, this.gatewayId);
    } catch (error) {
      this.waits.begin('heartbeat', `Redis to accept heartbeats (${(error as Error).message})`);
      throw error;
    } finally {
      void this.redis.publish(this.keys.gatewayEvents, this.ack()).catch(() => undefined);
    }
    this.waits.end('heartbeat');
    // HSET creates the field only on the first heartbeat, or after the sequencer removed it.
    const forgotten = created === 1 && this.heartbeats > 0;
    this.heartbeats++;
    if (forgotten) this.forgotten();
    else await this.presence.reconcileIfDue();
  }

  close(): void {
    clearTimeout(this.ackTimer);
    clearInterval(this.heartbeatTimer);
  }

  private sendAck(): void {
    this.ackTimer = undefined;
    if (this.batchSeq === this.reportedSeq) return;
    void this.redis.publish(this.keys.gatewayEvents, this.ack()).catch(() => undefined);
  }

  private ack(): string {
    this.reportedSeq = this.batchSeq;
    return encodeGatewayEvent({ kind: 'ack', gatewayId: this.gatewayId, batchSeq: this.batchSeq });
  }
}
