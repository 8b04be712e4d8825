import type { Redis } from 'ioredis';
import { encodeGatewayEvent, type Keys, type WaitReport } from '@follower-maze/shared';

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

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly gatewayId: string,
    /** The users this gateway holds, re-asserted with every heartbeat. */
    private readonly users: () => number[],
    private readonly ackIntervalMs: number,
    heartbeatIntervalMs: number,
    private readonly waits: WaitReport,
  ) {
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
   * Says the gateway is alive, and which users it holds: a sequencer that took this
   * gateway for dead (it was paused, or cut off longer than the TTL) learns them again.
   * The liveness message is published after the transaction, and even when Redis
   * refused it: Redis takes a PUBLISH while it refuses writes (OOM, MISCONF), and the
   * gateway must not count as dead for that.
   */
  async heartbeat(): Promise<void> {
    const presence = this.keys.presence(this.gatewayId);
    const users = this.users();
    const transaction = this.redis.multi().del(presence);
    if (users.length > 0) transaction.sadd(presence, ...users);
    let replies: [Error | null, unknown][] | null;
    try {
      replies = await transaction.hset(this.keys.gateways, this.gatewayId, Date.now()).exec();
    } catch (error) {
      this.waits.begin('heartbeat', `Redis to accept heartbeats (${(error as Error).message})`);
      throw error;
    } finally {
      void this.redis.publish(this.keys.gatewayEvents, this.ack()).catch(() => undefined);
    }
    this.waits.end('heartbeat');
    // HSET creates the field only on the first heartbeat, or after the sequencer removed it.
    const created = replies?.at(-1)?.[1] === 1;
    if (created && this.heartbeats > 0) this.forgotten();
    this.heartbeats++;
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
