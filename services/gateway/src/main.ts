import cluster from 'node:cluster';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import {
  connectRedis, createLogger, disconnectRedis, keysFor, loadConfig, logCountersEvery, RejectionLog, runService,
} from '@follower-maze/shared';
import { Gateway } from './gateway.ts';
import { superviseWorkers } from './worker-supervisor.ts';

const processes = (() => {
  try {
    return loadConfig().gateway.processes;
  } catch {
    return 1; // runService reports the configuration error.
  }
})();

if (processes > 1 && cluster.isPrimary) {
  const config = loadConfig();
  superviseWorkers(processes, createLogger('gateway-primary', config.logLevel));
} else {
  await runService('gateway', async (config, logger) => {
    const keys = keysFor(config.keyPrefix);
    const gatewayId = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    const redis = connectRedis(config.redisUrl, `gateway-${gatewayId}`, logger);
    const subscriber = connectRedis(config.redisUrl, `gateway-${gatewayId}-subscriber`, logger);
    const rejections = new RejectionLog(redis, keys.rejected, 'gateway', logger);
    const gateway = new Gateway(subscriber, redis, keys, gatewayId, config.gateway, rejections, logger);
    const port = await gateway.listen(config.listenHost, config.clientPort);
    const stopCounters = logCountersEvery(gateway.counters, config.metricsIntervalMs, logger);
    logger.info({ gatewayId, port }, 'gateway listening for user clients');
    return {
      async close() {
        stopCounters();
        await gateway.close();
        await rejections.flush();
        subscriber.disconnect();
        await disconnectRedis(redis);
      },
    };
  });
}
