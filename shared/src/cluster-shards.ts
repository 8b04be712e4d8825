import type { Cluster, Redis } from 'ioredis';
import { CLUSTER_SLOTS } from './cluster-slots.ts';
import type { NodeAddress } from './redis.ts';

/** One master of a Redis Cluster and what the services name after it. */
export interface Shard {
  /** `host:port`, as the slot map names the node. */
  readonly nodeKey: string;
  readonly node: NodeAddress;
  /**
   * The lowest slot the master serves. The master's batch-end channel is
   * `keys.batchEndOnSlot(firstSlot)`: the sequencer and the gateways both derive it
   * from the slot map, so they agree without asking each other, and a failover (a
   * replica taking over the same slots) keeps it.
   */
  readonly firstSlot: number;
}

/** The masters of the cluster client's current slot map, by lowest slot served; empty until the map is known. */
export function clusterShards(cluster: Cluster): Shard[] {
  const shards = new Map<string, Shard>();
  for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
    const nodeKey = cluster.slots[slot]?.[0];
    if (nodeKey === undefined || shards.has(nodeKey)) continue;
    const colon = nodeKey.lastIndexOf(':');
    shards.set(nodeKey, { nodeKey, node: { host: nodeKey.slice(0, colon), port: Number(nodeKey.slice(colon + 1)) }, firstSlot: slot });
  }
  return [...shards.values()];
}

/** A node connection's `host:port`, as the slot map names its node. */
export function nodeKeyOf(node: Redis): string {
  return `${node.options.host}:${node.options.port}`;
}

/** The master serving `slot` in the cluster client's current slot map. */
export function shardOfSlot(cluster: Cluster, slot: number): string | undefined {
  return cluster.slots[slot]?.[0];
}
