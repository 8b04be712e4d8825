import { Cluster, type Redis } from 'ioredis';
import {
  clusterShards, encodeBatchMarker, encodeDelivery, keySlot, nodeKeyOf, type BatchMarker, type Keys, type Shard,
} from '@follower-maze/shared';

/** A batch as the sequencer commits it: each recipient's notifications, in sequence order. */
export interface TestBatch {
  readonly marker: BatchMarker;
  readonly deliveries: ReadonlyMap<number, readonly string[]>;
}

/**
 * A stand-in for the sequencer on a Redis Cluster, in the order the contract binds it to:
 * the batch into the delivery log and the position (lua/commit.lua's layout), then for
 * each master of the slot map, on that master's own connection, the deliveries whose user
 * channel's slot it serves, and then the batch's marker on the master's batch-end channel.
 */
export class ClusterPublisher {
  readonly cluster: Cluster;

  constructor(seedUrls: readonly string[], private readonly keys: Keys) {
    this.cluster = new Cluster(seedUrls.map((url) => ({ host: new URL(url).hostname, port: Number(new URL(url).port) })), {
      retryDelayOnClusterDown: 100, retryDelayOnFailover: 100,
    });
    this.cluster.on('error', () => undefined);
  }

  async ready(): Promise<void> {
    if (this.cluster.status !== 'ready') await new Promise((resolve) => this.cluster.once('ready', resolve));
  }

  /** The masters of the current slot map. */
  shards(): Shard[] {
    return clusterShards(this.cluster);
  }

  /** The batch in the delivery log and the position, as the commit script writes them. */
  async commit({ marker, deliveries }: TestBatch): Promise<void> {
    const blob = Array.from(deliveries, ([userId, notifications]) => {
      const message = encodeDelivery(marker.epoch, notifications);
      return `${userId} ${Buffer.byteLength(message)}\n${message}`;
    }).join('');
    await this.cluster.xadd(this.keys.deliveries, `${marker.batchSeq}-0`, 'marker', encodeBatchMarker(marker), 'd', blob);
    await this.cluster.hset(this.keys.position, 'batchSeq', marker.batchSeq, 'epoch', marker.epoch);
  }

  /** Publishes on every master; `markerOn` says which masters get the marker (all by default). */
  async publish({ marker, deliveries }: TestBatch, markerOn: (shard: Shard) => boolean = () => true): Promise<void> {
    const shards = this.shards();
    const connections = new Map(this.cluster.nodes('master').map((node) => [nodeKeyOf(node), node]));
    await Promise.all(shards.map(async (shard) => {
      const connection = connections.get(shard.nodeKey)!;
      const sent: Promise<unknown>[] = [];
      for (const [userId, notifications] of deliveries) {
        const channel = this.keys.userChannel(userId);
        if (this.cluster.slots[keySlot(channel)]?.[0] === shard.nodeKey) {
          sent.push(connection.spublish(channel, encodeDelivery(marker.epoch, notifications)));
        }
      }
      if (markerOn(shard)) sent.push(this.publishMarker(connection, shard, marker));
      await Promise.all(sent);
    }));
  }

  /** The marker on one master's batch-end channel. */
  async publishMarker(connection: Redis | undefined, shard: Shard, marker: BatchMarker): Promise<void> {
    const node = connection ?? this.cluster.nodes('master').find((n) => nodeKeyOf(n) === shard.nodeKey)!;
    await node.spublish(this.keys.batchEndOnSlot(shard.firstSlot), encodeBatchMarker(marker));
  }

  close(): void {
    this.cluster.disconnect();
  }
}
