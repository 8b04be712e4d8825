import cluster from 'node:cluster';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import {
  connectionCheck, connectRedis, disconnectRedis, HealthServer, keysFor, listeningCheck, logCountersEvery, redisCheck, RejectionLog,
  ServiceMetrics, WaitReport, type Config, type Logger,
} from '@follower-maze/shared';
import { ClientsFromPrimary } from './client-handoff.ts';
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
  const keys = keysFor(config.keyPrefix);
  const gatewayId = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const redis = connectRedis(config, `gateway-${gatewayId}`, logger);
  // ioredis would resubscribe after a reconnect with one SUBSCRIBE naming every channel; the
  // gateway does it itself, a chunk per command, before it reads back what it missed.
  const subscriber = connectRedis(config, `gateway-${gatewayId}-subscriber`, logger, { autoResubscribe: false });
  const metrics = new ServiceMetrics();
  metrics.watchRedis(redis, 'gateway');
  metrics.watchRedis(subscriber, 'gateway-subscriber');
  // A cluster worker is handed its clients by the primary, which holds the port (client-dispatcher.ts).
  let servingPort: number | undefined;
  const health = await HealthServer.start(config.listenHost, config.metricsPort, metrics, [
    listeningCheck(cluster.isWorker ? 'serving the clients of its primary\'s port' : 'client port', () => servingPort),
    redisCheck(redis),
    // Deliveries arrive on it; while it is away they are held, and read back from the delivery log after.
    connectionCheck('subscriber', subscriber),
  ]);
  const rejections = new RejectionLog(redis, keys.rejected, 'gateway', logger);
  const waits = new WaitReport(redis, keys, `gateway-${gatewayId}`, logger);
  const gateway = new Gateway(subscriber, redis, keys, gatewayId, config.gateway, { rejections, waits, metrics }, logger);
  registerGatewayGauges(metrics, gateway);
  let port = config.clientPort;
  const clientsFromPrimary = cluster.isWorker ? new ClientsFromPrimary((socket) => gateway.adopt(socket)) : undefined;
  try {
    if (clientsFromPrimary) {
      await gateway.serveAdopted(() => clientsFromPrimary.open());
      logger.info({ gatewayId, port, metricsPort: health.port }, 'gateway serving the clients its primary hands over');
    } else {
      port = await gateway.listen(config.listenHost, config.clientPort);
      logger.info({ gatewayId, port, metricsPort: health.port }, 'gateway listening for user clients');
    }
  } catch (error) {
    clientsFromPrimary?.close();
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
      // Still confirming hand-offs while closing: the gateway closes what the primary hands it meanwhile.
      await gateway.close();
      clientsFromPrimary?.close();
      await rejections.flush();
      waits.close();
      subscriber.disconnect();
      await disconnectRedis(redis);
    },
  };
}
