import { loadConfig, type Config } from './config.ts';
import { createLogger, type Logger } from './logger.ts';

export interface RunningService {
  close(): Promise<void>;
}

/** A stop that takes longer than this is cut short: the supervisor will restart what is left. */
const CLOSE_TIMEOUT_MS = 5000;

/**
 * The one entry point of every service process: parse the configuration once, start,
 * and close cleanly on SIGINT/SIGTERM. A configuration error names the variable and exits 2.
 */
export async function runService(
  name: string,
  start: (config: Config, logger: Logger) => Promise<RunningService>,
): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    console.error(`${name}: configuration error: ${(error as Error).message}`);
    process.exit(2);
  }
  const logger = createLogger(name, config.logLevel);
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception');
    process.exit(1);
  });
  let service: RunningService | undefined;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    // Still starting (waiting for Redis, say): nothing is served yet, and waiting for the start would keep the process for ever.
    if (!service) process.exit(0);
    setTimeout(() => process.exit(1), CLOSE_TIMEOUT_MS).unref();
    service.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'close failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // Started by a supervisor with an IPC channel (`npm start`, cluster): stop when it is gone, also while starting.
  if (process.channel) process.on('disconnect', () => stop('supervisor gone'));
  service = await start(config, logger);
}
