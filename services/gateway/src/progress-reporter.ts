import type { RedisClient as Redis } from '@follower-maze/shared';
import { encodeGatewayEvent, encodeGatewayLoad, type GatewayLoad, type Keys, type WaitReport } from '@follower-maze/shared';
import type { GatewayPresence } from './gateway-presence.ts';

/**
 * Stamps this gateway's heartbeat with Redis's clock, never the gateway's own: the
 * sequencer ages heartbeats against Redis's clock too, so skew between hosts cannot make
 * a live gateway look dead. Returns HSET's reply: 1 when the field was created. (A write
 * after TIME is allowed since Redis 5, which replicates a script's effects, not the script.)
 * The load goes with the same stamp, best effort: a refused load must not fail the heartbeat.
 *
 * KEYS[1] gateways hash   KEYS[2] this gateway's load key
 * ARGV[1] gateway id      ARGV[2] encoded load   ARGV[3] the load's TTL in ms
 */
const HEARTBEAT_LUA = `
local now = redis.call('TIME')
local nowMs = string.format('%.0f', now[1] * 1000 + math.floor(now[2] / 1000))
local created = redis.call('HSET', KEYS[1], ARGV[1], nowMs)
redis.pcall('SET', KEYS[2], nowMs .. ' ' .. ARGV[2], 'PX', ARGV[3])
return created
`;

/** A gateway's load outlives its last heartbeat by this many heartbeat intervals, so `ops top` sees a silent one go. */
const LOAD_TTL_HEARTBEATS = 3;

type RedisWithHeartbeat = Redis & {
  fmHeartbeat(gatewaysKey: string, loadKey: string, gatewayId: string, load: string, loadTtlMs: number): Promise<number>;
};

/**
 * Tells the sequencer how far this gateway has got (the last batch it received), at
 * most every `ackIntervalMs`, and that it is alive, every `heartbeatIntervalMs`; the
 * heartbeat also leaves the gateway's load for people watching.
 */
export class ProgressReporter {
  private batchSeq = 0;
  private reportedSeq = 0;
  private ackTimer: NodeJS.Timeout | undefined;
  private heartbeats = 0;
  private forgotten: () => void = () => undefined;
  private readonly heartbeatTimer: NodeJS.Timeout;
  private readonly redis: RedisWithHeartbeat;
  private readonly loadTtlMs: number;

  constructor(
    redis: Redis,
    private readonly keys: Keys,
    private readonly gatewayId: string,
    /** Reconciled with a heartbeat when it may have gone wrong. */
    private readonly presence: GatewayPresence,
    private readonly ackIntervalMs: number,
    heartbeatIntervalMs: number,
    private readonly waits: WaitReport,
    /** Read at every heartbeat. */
    private readonly load: () => GatewayLoad,
  ) {
    redis.defineCommand('fmHeartbeat', { numberOfKeys: 2, lua: HEARTBEAT_LUA });
    this.redis = redis as RedisWithHeartbeat;
    this.loadTtlMs = LOAD_TTL_HEARTBEATS * heartbeatIntervalMs;
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
      created = await this.redis.fmHeartbeat(
        this.keys.gateways, this.keys.gatewayLoad(this.gatewayId), this.gatewayId, encodeGatewayLoad(this.load()), this.loadTtlMs,
      );
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
