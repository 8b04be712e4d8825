import cluster from 'node:cluster';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import {
  connectRedis, disconnectRedis, keysFor, logCountersEvery, RejectionLog, WaitReport, type Config, type Logger,
} from '@follower-maze/shared';
import { ClientsFromPrimary } from './client-handoff.ts';
import { Gateway } from './gateway.ts';

export interface GatewayService {
  readonly port: number;
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
  const rejections = new RejectionLog(redis, keys.rejected, 'gateway', logger);
  const waits = new WaitReport(redis, keys, `gateway-${gatewayId}`, logger);
  const gateway = new Gateway(subscriber, redis, keys, gatewayId, config.gateway, { rejections, waits }, logger);
  // A cluster worker is handed its clients by the primary, which holds the port (client-dispatcher.ts).
  let port = config.clientPort;
  const clientsFromPrimary = cluster.isWorker ? new ClientsFromPrimary((socket) => gateway.adopt(socket)) : undefined;
  if (clientsFromPrimary) {
    await gateway.serveAdopted(() => clientsFromPrimary.open());
    logger.info({ gatewayId, port }, 'gateway serving the clients its primary hands over');
  } else {
    port = await gateway.listen(config.listenHost, config.clientPort);
    logger.info({ gatewayId, port }, 'gateway listening for user clients');
  }
  const stopCounters = logCountersEvery(gateway.counters, config.metricsIntervalMs, logger);
  return {
    port,
    gateway,
    async close() {
      clientsFromPrimary?.close();
      stopCounters();
      await gateway.close();
      await rejections.flush();
      waits.close();
      subscriber.disconnect();
      await disconnectRedis(redis);
    },
  };
}
