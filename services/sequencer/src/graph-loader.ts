import type { RedisClient as Redis } from '@follower-maze/shared';
import { scanEveryMaster, type Keys } from '@follower-maze/shared';
import type { FollowGraph } from './core/follow-graph.ts';

/** Keys fetched per SCAN step and sets per pipeline while loading. */
const SCAN_COUNT = 1000;

/**
 * Loads the committed follow graph from its Redis sets into memory. The sequencer is
 * the only writer of those sets, so after this its copy stays exact. On a Redis Cluster
 * the sets are read on the master where the scan found them (all in the prefix's slot).
 */
export async function loadFollowGraph(redis: Redis, keys: Keys, epoch: number, graph: FollowGraph): Promise<number> {
  const prefix = keys.followersPrefix(epoch);
  let edges = 0;
  for await (const { node, keys: found } of scanEveryMaster(redis, `${prefix}*`, SCAN_COUNT)) {
    const pipeline = node.pipeline();
    for (const key of found) pipeline.smembers(key);
    const replies = (await pipeline.exec()) ?? [];
    found.forEach((key, index) => {
      const to = Number(key.slice(prefix.length));
      for (const from of (replies[index]?.[1] as string[] | undefined) ?? []) {
        graph.follow(Number(from), to);
        edges++;
      }
    });
  }
  return edges;
}
