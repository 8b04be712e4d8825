import {
  connectRedis, disconnectRedis, ensureSequencerGroup, HealthServer, keysFor, listeningCheck, logCountersEvery, processName,
  redisCheck, RejectionLog, ServiceMetrics, WaitReport, type Config, type Logger,
} from '@follower-maze/shared';
import { EventIngest } from './event-ingest.ts';
import { registerIngestGauges } from './ingest-metrics.ts';

export interface IngestService {
  readonly port: number;
  readonly metricsPort: number;
  readonly ingest: EventIngest;
  close(): Promise<void>;
}

/** Wires the ingest service to Redis and its port; `main.ts` runs it as a process, tests in-process. */
export async function startIngestService(config: Config, logger: Logger): Promise<IngestService> {
  const keys = keysFor(config.keyPrefix, config.redisClusterNodes !== undefined);
  const metrics = new ServiceMetrics();
  const redis = connectRedis(config, 'ingest', logger);
  metrics.watchRedis(redis, 'ingest');
  let port: number | undefined;
  // First, so that /livez answers and /readyz says what is missing while the start waits for Redis.
  const health = await HealthServer.start(config.listenHost, config.metricsPort, metrics, [
    listeningCheck('event port', () => port),
    redisCheck(redis),
  ]);
  let ingest: EventIngest;
  let rejections: RejectionLog;
  let waits: WaitReport;
  try {
    await ensureSequencerGroup(redis, keys);
    rejections = new RejectionLog(redis, keys.rejected, 'ingest', logger);
    waits = new WaitReport(redis, keys, processName('ingest'), logger);
    ingest = new EventIngest(redis, keys, config.ingest, rejections, logger, waits, metrics);
    registerIngestGauges(metrics, ingest);
    port = await ingest.listen(config.listenHost, config.eventPort);
  } catch (error) {
    await health.close();
    redis.disconnect();
    throw error;
  }
  const stopCounters = logCountersEvery(ingest.counters, config.metricsIntervalMs, logger);
  logger.info({ port, metricsPort: health.port }, 'ingest listening for the event source');
  return {
    port,
    metricsPort: health.port,
    ingest,
    async close() {
      stopCounters();
      await health.close();
      await ingest.close();
      await rejections.flush();
      waits.close();
      logger.info({ counters: ingest.counters.snapshot() }, 'ingest stopped');
      await disconnectRedis(redis);
    },
  };
}
