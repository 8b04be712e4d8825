import { Cluster, type Redis } from 'ioredis';
import { keySlot, nodeKeyOf, shardOfSlot, type Keys, type RedisClient } from '@follower-maze/shared';

/**
 * Calls `lost` once the Redis holding the sequencer's state (position, stream, graph,
 * delivery log, lease: the prefix's slot) may have lost recent writes, so that the term
 * ends and the next one reloads what Redis holds: one Redis reconnecting (it may have
 * restarted without its last writes), or on a Redis Cluster the connection to the
 * master of that slot ending, or another master serving it (a failover: the promoted
 * replica may lack the last writes, which reach it asynchronously). The commit's
 * compare-and-set would refuse a commit from memory ahead of Redis anyway; ending the
 * term first also keeps the reader from taking entries the group hands out again as
 * duplicates.
 */
export function whenStateMayBeLost(redis: RedisClient, keys: Keys, lost: () => void): void {
  redis.once('reconnecting', lost);
  if (!(redis instanceof Cluster)) return;
  const slot = keySlot(keys.position);
  const master = shardOfSlot(redis, slot);
  redis.on('-node', (node: Redis) => {
    if (nodeKeyOf(node) === master) lost();
  });
  redis.on('refresh', () => {
    if (shardOfSlot(redis, slot) !== master) lost();
  });
}
