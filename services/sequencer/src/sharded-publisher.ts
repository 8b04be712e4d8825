import type { Cluster, Redis } from 'ioredis';
import { clusterShards, keySlot, type Keys, type Shard } from '@follower-maze/shared';
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

type MasterWithPublish = Redis & {
  fmShardedPublish(channelPrefix: string, deliveries: string, batchEndChannel: string, marker: string): Promise<number>;
};

/**
 * Publishing on a Redis Cluster, after the commit (which publishes nothing there): every
 * master of the current slot map gets, on its own connection (one FIFO per master), the
 * deliveries whose users' channels it serves, in bounded parts, and then the batch's
 * marker on its batch-end channel, also when it had no delivery in the batch. A gateway
 * counts a batch received once it has the marker from every master, so each master's
 * marker follows that master's last delivery of the batch; the masters go in parallel.
 *
 * When a call fails (the slot map changed under it: "non local key"; a master's
 * connection lost; a master that became a replica), the cluster client reads the slot
 * map again and the sequencer publishes the whole batch again on the new one: gateways
 * drop what they already sent by sequence number.
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
    const connections = new Map(this.cluster.nodes('master').map((node) => [`${node.options.host}:${node.options.port}`, node]));
    // Settled, not raced: a failed master's sibling calls finish before the batch is sent again.
    const outcomes = await Promise.allSettled(
      shards.map((shard) => this.publishOn(connections.get(shard.nodeKey), shard, byMaster.get(shard.nodeKey)!, marker)),
    );
    const failure = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failure) throw await this.refreshed(failure.reason);
  }

  logged(batchSeq: number): Promise<Publication | undefined> {
    return readLoggedBatch(this.cluster, this.keys, batchSeq);
  }

  /** One master's deliveries in parts, sent without waiting for each reply; the marker once every part was taken. */
  private async publishOn(connection: Redis | undefined, shard: Shard, deliveries: string[], marker: string): Promise<void> {
    if (!connection) throw new Error(`no connection to the master ${shard.nodeKey}`);
    const master = this.prepare(connection);
    const batchEnd = this.keys.batchEndOnSlot(shard.firstSlot);
    const parts = partsOf(deliveries);
    const publishPart = (part: string, partMarker: string) =>
      master.fmShardedPublish(this.keys.userChannelPrefix, part, batchEnd, partMarker);
    // A refused part fails the batch before its marker goes: a marker never claims deliveries that were not sent.
    await Promise.all(parts.slice(0, -1).map((part) => publishPart(part, '')));
    await publishPart(parts.at(-1) ?? '', marker);
  }

  private prepare(connection: Redis): MasterWithPublish {
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
