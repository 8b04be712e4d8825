import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Cluster, type Redis } from 'ioredis';
import {
  connectRedis, disconnectRedis, HealthServer, keysFor, listeningCheck, logCountersEvery, redisCheck, RejectionLog,
  ServiceMetrics, WaitReport, type Config, type Keys, type Logger,
} from '@follower-maze/shared';
import { SingleRedisFeed, type DeliveryFeed } from './delivery-feed.ts';
import { Gateway } from './gateway.ts';
import { registerGatewayGauges } from './gateway-metrics.ts';
import { ShardedFeed } from './sharded-feed.ts';

export interface GatewayService {
  readonly port: number;
  readonly metricsPort: number;
  readonly gateway: Gateway;
  close(): Promise<void>;
}

/** Wires one gateway process to Redis and the client port; `main.ts` runs it as a process, tests in-process. */
export async function startGatewayService(config: Config, logger: Logger): Promise<GatewayService> {
  const keys = keysFor(config.keyPrefix, config.redisClusterNodes !== undefined);
  const gatewayId = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const redis = connectRedis(config, `gateway-${gatewayId}`, logger);
  const metrics = new ServiceMetrics();
  metrics.watchRedis(redis, 'gateway');
  const feed = deliveryFeed(config, redis, keys, `gateway-${gatewayId}-subscriber`, logger, (connection) =>
    metrics.watchRedis(connection, 'gateway-subscriber'),
  );
  let servingPort: number | undefined;
  const health = await HealthServer.start(config.listenHost, config.metricsPort, metrics, [
    listeningCheck('client port', () => servingPort),
    redisCheck(redis),
    feed.healthCheck('subscriber'),
  ]);
  const rejections = new RejectionLog(redis, keys.rejected, 'gateway', logger);
  const waits = new WaitReport(redis, keys, `gateway-${gatewayId}`, logger);
  const gateway = new Gateway(feed, redis, keys, gatewayId, config.gateway, { rejections, waits, metrics }, logger);
  registerGatewayGauges(metrics, gateway);
  let port: number;
  try {
    port = await gateway.listen(config.listenHost, config.clientPort);
    logger.info({ gatewayId, port, metricsPort: health.port }, 'gateway listening for user clients');
  } catch (error) {
    await health.close();
    waits.close();
    feed.close();
    redis.disconnect();
    throw error;
  }
  servingPort = port;
  const stopCounters = logCountersEvery(gateway.counters, config.metricsIntervalMs, logger);
  return {
    port,
    metricsPort: health.port,
    gateway,
    async close() {
      stopCounters();
      await health.close();
      await gateway.close();
      await rejections.flush();
      waits.close();
      feed.close();
      await disconnectRedis(redis);
    },
  };
}

/**
 * One subscriber connection to the one Redis, or one per master of a Redis Cluster. ioredis
 * would resubscribe after a reconnect with one command naming every channel; the gateway
 * does it itself, a chunk per command, before it reads back what it missed.
 */
function deliveryFeed(
  config: Config, redis: Redis | Cluster, keys: Keys, name: string, logger: Logger, watch: (connection: Redis) => void,
): DeliveryFeed {
  if (redis instanceof Cluster) return new ShardedFeed(redis, config, keys, name, logger, watch);
  const subscriber = connectRedis({ ...config, redisClusterNodes: undefined }, name, logger, { autoResubscribe: false });
  watch(subscriber);
  return new SingleRedisFeed(subscriber, keys);
}
