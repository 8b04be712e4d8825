import type { RedisClient as Redis } from '@follower-maze/shared';
import { masterNodes, type Keys } from '@follower-maze/shared';
import type { FollowGraph } from './core/follow-graph.ts';

/** Keys fetched per SCAN step and sets per pipeline while loading. */
const SCAN_COUNT = 1000;

/**
 * Loads the committed follow graph from its Redis sets into memory. The sequencer is
 * the only writer of those sets, so after this its copy stays exact. SCAN sees one
 * node's keys: on a Redis Cluster every master is scanned (the sets are all in the
 * prefix's slot, on one of them), and the sets are read where they were found.
 */
export async function loadFollowGraph(redis: Redis, keys: Keys, epoch: number, graph: FollowGraph): Promise<number> {
  const prefix = keys.followersPrefix(epoch);
  let edges = 0;
  for (const node of masterNodes(redis)) {
    let cursor = '0';
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', SCAN_COUNT);
      cursor = next;
      if (found.length === 0) continue;
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
    } while (cursor !== '0');
  }
  return edges;
}
