import {
  connectRedis, disconnectRedis, ensureSequencerGroup, keysFor, logCountersEvery, processName, RejectionLog, WaitReport, type Config, type Logger,
} from '@follower-maze/shared';
import { EventIngest } from './event-ingest.ts';

export interface IngestService {
  readonly port: number;
  readonly ingest: EventIngest;
  close(): Promise<void>;
}

/** Wires the ingest service to Redis and its port; `main.ts` runs it as a process, tests in-process. */
export async function startIngestService(config: Config, logger: Logger): Promise<IngestService> {
  const keys = keysFor(config.keyPrefix);
  const redis = connectRedis(config, 'ingest', logger);
  await ensureSequencerGroup(redis, keys);
  const rejections = new RejectionLog(redis, keys.rejected, 'ingest', logger);
  const waits = new WaitReport(redis, keys, processName('ingest'), logger);
  const ingest = new EventIngest(redis, keys, config.ingest, rejections, logger, waits);
  const port = await ingest.listen(config.listenHost, config.eventPort);
  const stopCounters = logCountersEvery(ingest.counters, config.metricsIntervalMs, logger);
  logger.info({ port }, 'ingest listening for the event source');
  return {
    port,
    ingest,
    async close() {
      stopCounters();
      await ingest.close();
      await rejections.flush();
      waits.close();
      logger.info({ counters: ingest.counters.snapshot() }, 'ingest stopped');
      await disconnectRedis(redis);
    },
  };
}
