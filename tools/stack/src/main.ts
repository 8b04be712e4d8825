import envVar from 'env-var';
import { configFileFromArgs, createLogger, loadConfig, probeHost } from '@follower-maze/shared';
import { waitUntilServicesReady } from './readiness.ts';
import { Stack } from './stack.ts';
import { stackClusterDataDir, stackClusterMasters, stackClusterPorts, stackDataDir, stackRedisPort } from './stack-redis.ts';

/**
 * `npm start`: the whole stack as local processes. Settings are the services' own
 * (see the README); REDIS_URL absent means a private redis-server with its AOF and its
 * generated password in ./data, which only its owner can read; REDIS_CLUSTER=N, a private
 * cluster of N masters instead.
 */
const { config, clusterMasters } = (() => {
  try {
    return { config: loadConfig(), clusterMasters: stackClusterMasters() };
  } catch (error) {
    console.error(`configuration error: ${(error as Error).message}`);
    process.exit(2);
  }
})();
const logger = createLogger('stack', config.logLevel);
const configFile = configFileFromArgs(process.argv);
const stack = new Stack({
  ...(process.env['REDIS_URL'] && { redisUrl: config.redisUrl }),
  ...(config.redisClusterNodes && { redisClusterNodes: config.redisClusterNodes }),
  ...(clusterMasters && { privateCluster: { ports: stackClusterPorts(clusterMasters), dataDir: stackClusterDataDir() } }),
  redisPort: stackRedisPort(),
  dataDir: stackDataDir(),
  sequencers: envVar.get('SEQUENCERS').default('2').example('2').asIntPositive(),
  metricsPort: config.metricsPort,
  env: { ...process.env, ...(configFile && { EVENT_PORT: String(config.eventPort), CLIENT_PORT: String(config.clientPort) }) },
  stdio: 'inherit',
  restart: true,
}, logger);

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'stopping the stack');
  await stack.stop();
  logger.info('stack stopped');
  process.exit(0);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));

await stack.start();
const metricsPorts = Object.fromEntries(stack.healthPorts);
if (stack.healthPorts.size === 0) {
  logger.info({ eventPort: config.eventPort, clientPort: config.clientPort }, 'stack started; with METRICS_PORT=0 its readiness is not checked');
} else {
  await waitUntilServicesReady(probeHost(config.listenHost), stack.healthPorts, (missing) => logger.warn({ missing }, 'stack not ready yet'));
  logger.info(
    { eventPort: config.eventPort, clientPort: config.clientPort, gateways: config.gateway.processes, metricsPorts },
    'stack ready: every service answers ready on /readyz; Ctrl-C stops it',
  );
}
