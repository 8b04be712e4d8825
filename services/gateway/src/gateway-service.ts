import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import {
  connectionCheck, connectRedis, disconnectRedis, HealthServer, keysFor, listeningCheck, logCountersEvery, redisCheck, RejectionLog,
  ServiceMetrics, WaitReport, type Config, type Logger,
} from '@follower-maze/shared';
import { Gateway } from './gateway.ts';
import { registerGatewayGauges } from './gateway-metrics.ts';

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
  // ioredis would resubscribe after a reconnect with one SUBSCRIBE naming every channel; the
  // gateway does it itself, a chunk per command, before it reads back what it missed.
  const subscriber = connectRedis(config, `gateway-${gatewayId}-subscriber`, logger, { autoResubscribe: false });
  const metrics = new ServiceMetrics();
  metrics.watchRedis(redis, 'gateway');
  metrics.watchRedis(subscriber, 'gateway-subscriber');
  let servingPort: number | undefined;
  const health = await HealthServer.start(config.listenHost, config.metricsPort, metrics, [
    listeningCheck('client port', () => servingPort),
    redisCheck(redis),
    // Deliveries arrive on it; while it is away they are held, and read back from the delivery log after.
    connectionCheck('subscriber', subscriber),
  ]);
  const rejections = new RejectionLog(redis, keys.rejected, 'gateway', logger);
  const waits = new WaitReport(redis, keys, `gateway-${gatewayId}`, logger);
  const gateway = new Gateway(subscriber, redis, keys, gatewayId, config.gateway, { rejections, waits, metrics }, logger);
  registerGatewayGauges(metrics, gateway);
  let port: number;
  try {
    port = await gateway.listen(config.listenHost, config.clientPort);
    logger.info({ gatewayId, port, metricsPort: health.port }, 'gateway listening for user clients');
  } catch (error) {
    await health.close();
    waits.close();
    subscriber.disconnect();
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
      subscriber.disconnect();
      await disconnectRedis(redis);
    },
  };
}
