import type { Cluster, Redis } from 'ioredis';
import {
  clusterShards, connectNode, keySlot, type HealthCheck, type Keys, type Logger, type RedisTarget, type Shard,
} from '@follower-maze/shared';
import { chunksOf } from './chunks.ts';
import type { DeliveryFeed, FeedListener } from './delivery-feed.ts';

/** Longest pause between two looks at the slot map while a master's connection is away (a failover takes the node timeout and an election). */
const RECOVERY_CHECK_MS = 100;

/** The sharded subscriber connection to one master. */
interface ShardConnection {
  readonly nodeKey: string;
  readonly redis: Redis;
  /** The master's batch-end channel, named after the lowest slot it serves. */
  batchEnd: string;
  /** Closed by the feed (its node no longer serves slots): what it reports is no longer the feed's. */
  retired: boolean;
}

const IGNORE: FeedListener = { message: () => undefined, dropped: () => undefined, ready: () => undefined };

/**
 * A Redis Cluster: one sharded subscriber connection per master of the slot map, each
 * SSUBSCRIBEd to the user channels whose slots that master serves and to the master's
 * batch-end channel. The sequencer publishes each master's deliveries of a batch and then
 * the batch's marker on that master's connection, and Redis keeps that order per
 * connection, so a marker on a master's channel follows every delivery of its batch there.
 *
 * A drop of any connection, or channels the server took away (it unsubscribes a slot's
 * channels when the slot moves to another master), is a drop of the feed: the slot map is
 * read again until every master has a connection that is up, a failed master's replaced by
 * one to the replica that took over its slots, and then the gateway subscribes everything
 * again and catches up. SSUBSCRIBE takes channels of one slot only, so a list of channels
 * goes as one command per slot (at most ITEMS_PER_COMMAND channels), issued together on
 * each master's connection: users spread over the slots, so a join costs about one
 * command per user here, pipelined in one write per master.
 */
export class ShardedFeed implements DeliveryFeed {
  private readonly connections = new Map<string, ShardConnection>();
  private listener = IGNORE;
  private started = false;
  private up = false;
  /** Bumped by every drop: a command that fails after one is repeated by the resubscription that follows it. */
  private drops = 0;
  private recovering = false;
  private closed = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly cluster: Cluster,
    private readonly target: RedisTarget,
    private readonly keys: Keys,
    private readonly name: string,
    private readonly logger: Logger,
    /** Called with every connection the feed opens (metrics). */
    private readonly watch: (redis: Redis) => void,
  ) {}

  get batchEndChannels(): string[] {
    return Array.from(this.connections.values(), ({ batchEnd }) => batchEnd);
  }

  listen(listener: FeedListener): void {
    this.listener = listener;
  }

  async start(): Promise<void> {
    if (this.cluster.status !== 'ready') await new Promise((resolve) => this.cluster.once('ready', resolve));
    this.connectShards(clusterShards(this.cluster));
    const drops = this.drops;
    await this.resubscribe([]);
    this.started = true;
    this.up = true;
    // A drop while starting was not reported (it may have taken a batch-end channel with it): report it now.
    if (this.drops !== drops || !this.allConnected()) this.lost();
  }

  async subscribe(channels: readonly string[]): Promise<void> {
    await this.onEachSlot(channels, (redis, slotChannels) => redis.ssubscribe(...slotChannels));
  }

  async unsubscribe(channels: readonly string[]): Promise<void> {
    await this.onEachSlot(channels, (redis, slotChannels) => redis.sunsubscribe(...slotChannels));
  }

  async resubscribe(channels: readonly string[]): Promise<void> {
    const bySlot = this.bySlot([...this.batchEndChannels, ...channels]);
    if (!bySlot) throw new Error('the slot map names a master this gateway has no connection to yet');
    await Promise.all(
      bySlot.flatMap(([connection, slotChannels]) =>
        Array.from(chunksOf(slotChannels), (chunk) => connection.redis.ssubscribe(...chunk)),
      ),
    );
  }

  healthCheck(name: string): HealthCheck {
    return {
      name,
      check: () => {
        const statuses = Array.from(this.connections.values(), ({ nodeKey, redis }) => `${nodeKey} ${redis.status}`);
        return { ok: this.up, detail: `${this.up ? 'a connection to every master' : 'connecting to every master'}: ${statuses.join(', ')}` };
      },
    };
  }

  close(): void {
    this.closed = true;
    for (const connection of this.connections.values()) this.retire(connection);
    this.connections.clear();
    this.wakeUp();
  }

  /**
   * Channels of one slot per command. A failure after a drop, or on a connection let go
   * since, is left to the resubscription that follows the drop; a channel whose master has
   * no connection yet (the slot map changed) makes a drop, and so one.
   */
  private async onEachSlot(channels: readonly string[], command: (redis: Redis, slotChannels: string[]) => Promise<unknown>): Promise<void> {
    const drops = this.drops;
    const bySlot = this.bySlot(channels);
    if (!bySlot) {
      this.lost();
      return;
    }
    await Promise.all(bySlot.map(([connection, slotChannels]) => command(connection.redis, slotChannels).catch((error: unknown) => {
      if (this.drops === drops && !connection.retired) throw error;
    })));
  }

  /** The channels by slot, each with the connection to the master serving it; undefined when one has none. */
  private bySlot(channels: readonly string[]): [ShardConnection, string[]][] | undefined {
    const groups = new Map<number, [ShardConnection, string[]]>();
    for (const channel of channels) {
      const slot = keySlot(channel);
      const group = groups.get(slot);
      if (group) {
        group[1].push(channel);
        continue;
      }
      const nodeKey = this.cluster.slots[slot]?.[0];
      const connection = nodeKey === undefined ? undefined : this.connections.get(nodeKey);
      if (!connection) return undefined;
      groups.set(slot, [connection, [channel]]);
    }
    return Array.from(groups.values());
  }

  private lost(): void {
    if (this.closed) return;
    this.drops++;
    if (!this.started) return;
    if (this.up) {
      this.up = false;
      this.listener.dropped();
    }
    void this.recover();
  }

  /** Reads the slot map until every master has a connection that is up, then says the feed is ready. */
  private async recover(): Promise<void> {
    if (this.recovering) return;
    this.recovering = true;
    try {
      for (;;) {
        const drops = this.drops;
        await new Promise<void>((resolve) => this.cluster.refreshSlotsCache(() => resolve()));
        if (this.closed) return;
        this.connectShards(clusterShards(this.cluster));
        if (this.drops === drops && this.allConnected()) break;
        await this.pause();
      }
    } finally {
      this.recovering = false;
    }
    this.up = true;
    this.logger.info({ masters: Array.from(this.connections.keys()) }, 'sharded subscriber connected to every master again');
    this.listener.ready();
  }

  private allConnected(): boolean {
    if (this.connections.size === 0) return false;
    for (const { redis } of this.connections.values()) if (redis.status !== 'ready') return false;
    return true;
  }

  /** One connection per master of the slot map; a node that no longer serves slots is let go. An empty map (not known) changes nothing. */
  private connectShards(shards: readonly Shard[]): void {
    if (shards.length === 0) return;
    const wanted = new Set(shards.map(({ nodeKey }) => nodeKey));
    for (const [nodeKey, connection] of this.connections) {
      if (wanted.has(nodeKey)) continue;
      this.retire(connection);
      this.connections.delete(nodeKey);
      this.logger.info({ master: nodeKey }, 'no longer a master: its sharded subscriber is closed');
    }
    for (const shard of shards) {
      const batchEnd = this.keys.batchEndOnSlot(shard.firstSlot);
      const existing = this.connections.get(shard.nodeKey);
      if (existing) existing.batchEnd = batchEnd;
      else this.connections.set(shard.nodeKey, this.connect(shard, batchEnd));
    }
  }

  private connect({ nodeKey, node }: Shard, batchEnd: string): ShardConnection {
    // The gateway subscribes again itself, per slot and chunk, before it reads back what it missed.
    const redis = connectNode(this.target, node, `${this.name}-${nodeKey}`, this.logger, { autoResubscribe: false });
    const connection: ShardConnection = { nodeKey, redis, batchEnd, retired: false };
    this.watch(redis);
    redis.on('smessageBuffer', (channel: Buffer, message: Buffer) => this.listener.message(channel.toString(), message, connection.batchEnd));
    redis.on('close', () => {
      if (!connection.retired) this.lost();
    });
    // ioredis reports channels the server unsubscribed (their slot moved), and a MOVED reply to SSUBSCRIBE, as 'moved'.
    redis.on('moved', () => {
      if (!connection.retired) this.lost();
    });
    redis.on('ready', () => this.wakeUp());
    return connection;
  }

  private retire(connection: ShardConnection): void {
    connection.retired = true;
    connection.redis.disconnect();
  }

  private pause(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, RECOVERY_CHECK_MS);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
