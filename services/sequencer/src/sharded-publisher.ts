import type { Cluster, Redis } from 'ioredis';
import { clusterShards, keySlot, nodeKeyOf, type Keys, type Shard } from '@follower-maze/shared';
import { partsOf, type Publication } from './core/publication.ts';
import { readLoggedBatch } from './logged-batch.ts';
import { luaScript } from './lua-script.ts';
import type { DeliveryPublisher } from './publish-script.ts';

const SHARDED_PUBLISH_LUA = luaScript('sharded-publish.lua');
/**
 * Users whose channel's slot is remembered, at most (then forgotten all at once): the
 * slot costs a CRC16 of the channel name, about 0.3 µs, paid once per user instead of
 * once per delivery on the sequencer's one thread.
 */
const REMEMBERED_SLOTS = 1_000_000;

type MasterWithPublish = Redis & { fmShardedPublish(channelPrefix: string, deliveries: string): Promise<number> };

/**
 * Publishing on a Redis Cluster, after the commit (which publishes nothing there): every
 * master of the current slot map gets, on its own connection (one FIFO per master), the
 * deliveries whose users' channels it serves, in bounded parts, and then the batch's
 * marker on its batch-end channel, also when it had no delivery in the batch. A gateway
 * counts a batch received once it has the marker from every master.
 *
 * The markers go only once every master has taken its deliveries: were a master's marker
 * sent while another master refused a part (the slot map changed: "non local key"), a
 * delivery that the stale map gave to the wrong master would reach its user's master
 * only with the batch sent again, after that master's marker, and could arrive at a
 * gateway after the last marker it waited for. This costs a round trip per batch (the
 * masters in parallel), not a command per delivery.
 *
 * When a call fails (the slot map changed; a master's connection lost; a master that
 * became a replica), the cluster client reads the slot map again and the sequencer
 * publishes the whole batch again on the new one: gateways drop what they already sent
 * by sequence number.
 */
export class ShardedPublisher implements DeliveryPublisher {
  private readonly slotOfUser = new Map<string, number>();
  private readonly prepared = new WeakSet<Redis>();

  constructor(
    private readonly cluster: Cluster,
    private readonly keys: Keys,
  ) {}

  async publish({ deliveries, marker }: Publication): Promise<void> {
    const shards = clusterShards(this.cluster);
    if (shards.length === 0) throw await this.refreshed(new Error('the slot map of the cluster is not known'));
    const byMaster = new Map<string, string[]>(shards.map((shard) => [shard.nodeKey, []]));
    for (const delivery of deliveries) {
      const master = this.cluster.slots[this.slotOf(delivery)]?.[0];
      const own = master === undefined ? undefined : byMaster.get(master);
      if (!own) throw await this.refreshed(new Error(`no master serves the channel of ${delivery.slice(0, delivery.indexOf(' '))}'s delivery`));
      own.push(delivery);
    }
    const connections = new Map(this.cluster.nodes('master').map((node) => [nodeKeyOf(node), node]));
    await this.onEveryMaster(shards, (shard) => this.publishOn(connections.get(shard.nodeKey), shard, byMaster.get(shard.nodeKey)!));
    await this.onEveryMaster(shards, async (shard) =>
      this.master(connections.get(shard.nodeKey), shard).spublish(this.keys.batchEndOnSlot(shard.firstSlot), marker));
  }

  logged(batchSeq: number): Promise<Publication | undefined> {
    return readLoggedBatch(this.cluster, this.keys, batchSeq);
  }

  /** Settled, not raced: a failed master's sibling calls finish before the batch is sent again. */
  private async onEveryMaster(shards: readonly Shard[], call: (shard: Shard) => Promise<unknown>): Promise<void> {
    const outcomes = await Promise.allSettled(shards.map(call));
    const failure = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failure) throw await this.refreshed(failure.reason);
  }

  /** One master's deliveries in parts, sent without waiting for each reply: Redis runs them in order. */
  private async publishOn(connection: Redis | undefined, shard: Shard, deliveries: string[]): Promise<void> {
    const master = this.master(connection, shard);
    await Promise.all(partsOf(deliveries).map((part) => master.fmShardedPublish(this.keys.userChannelPrefix, part)));
  }

  private master(connection: Redis | undefined, shard: Shard): MasterWithPublish {
    if (!connection) throw new Error(`no connection to the master ${shard.nodeKey}`);
    if (!this.prepared.has(connection)) {
      connection.defineCommand('fmShardedPublish', { numberOfKeys: 0, lua: SHARDED_PUBLISH_LUA });
      this.prepared.add(connection);
    }
    return connection as MasterWithPublish;
  }

  /** The slot of the delivery's user channel. */
  private slotOf(delivery: string): number {
    const userId = delivery.slice(0, delivery.indexOf(' '));
    let slot = this.slotOfUser.get(userId);
    if (slot === undefined) {
      if (this.slotOfUser.size >= REMEMBERED_SLOTS) this.slotOfUser.clear();
      slot = keySlot(this.keys.userChannelPrefix + userId);
      this.slotOfUser.set(userId, slot);
    }
    return slot;
  }

  /** Has the cluster client read the slot map again (whatever the outcome), then gives back the error to throw. */
  private async refreshed(error: unknown): Promise<unknown> {
    await new Promise<void>((resolve) => this.cluster.refreshSlotsCache(() => resolve()));
    return error;
  }
}
