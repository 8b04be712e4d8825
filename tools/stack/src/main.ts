import envVar from 'env-var';
import { configFileFromArgs, createLogger, loadConfig } from '@follower-maze/shared';
import { Stack } from './stack.ts';
import { stackDataDir, stackRedisPort } from './stack-redis.ts';

/**
 * `npm start`: the whole stack as local processes. Settings are the services' own
 * (see the README); REDIS_URL absent means a private redis-server with its AOF and its
 * generated password in ./data, which only its owner can read.
 */
const config = (() => {
  try {
    return loadConfig();
  } catch (error) {
    console.error(`configuration error: ${(error as Error).message}`);
    process.exit(2);
  }
})();
const logger = createLogger('stack', config.logLevel);
const configFile = configFileFromArgs(process.argv);
const stack = new Stack({
  ...(process.env['REDIS_URL'] && { redisUrl: config.redisUrl }),
  redisPort: stackRedisPort(),
  dataDir: stackDataDir(),
  sequencers: envVar.get('SEQUENCERS').default('2').example('2').asIntPositive(),
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
logger.info({ eventPort: config.eventPort, clientPort: config.clientPort, gateways: config.gateway.processes }, 'stack running; Ctrl-C stops it');
