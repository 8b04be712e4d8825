import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { credentialOptions, redisTlsOptions, seedNode, type RedisClient, type RedisTarget } from '@follower-maze/shared';

/**
 * A connection of the tools (`npm start`'s readiness, `npm run ops`) to the target: one
 * Redis, or with REDIS_CLUSTER_NODES a cluster client, every node of which takes the first
 * seed's user, password and TLS, as the services' connections do. `options` are a
 * connection's; on a cluster those that belong to the cluster client (lazyConnect,
 * enableOfflineQueue, retryStrategy) go to it, the others to every node's connection.
 */
export function toolConnection(target: RedisTarget, options: RedisOptions = {}): RedisClient {
  const seeds = target.redisClusterNodes;
  if (seeds === undefined) return new Redis(target.redisUrl, { ...options, ...redisTlsOptions(target) });
  const { lazyConnect, enableOfflineQueue, retryStrategy, ...nodeOptions } = options;
  return new Cluster(seeds.map(seedNode), {
    ...(lazyConnect !== undefined && { lazyConnect }),
    ...(enableOfflineQueue !== undefined && { enableOfflineQueue }),
    ...(retryStrategy !== undefined && { clusterRetryStrategy: retryStrategy }),
    redisOptions: { ...nodeOptions, ...credentialOptions(target) },
  });
}

/** Every node the client knows (a cluster's masters and replicas), or the one Redis: classic pub/sub is per node. */
export function everyNode(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('all') : [client];
}
