import { connectRedis, disconnectRedis, ensureSequencerGroup, keysFor, logCountersEvery, RejectionLog, runService } from '@follower-maze/shared';
import { EventIngest } from './event-ingest.ts';

await runService('ingest', async (config, logger) => {
  const keys = keysFor(config.keyPrefix);
  const redis = connectRedis(config.redisUrl, 'ingest', logger);
  await ensureSequencerGroup(redis, keys);
  const rejections = new RejectionLog(redis, keys.rejected, 'ingest', logger);
  const ingest = new EventIngest(redis, keys, config.ingest, rejections, logger);
  const port = await ingest.listen(config.listenHost, config.eventPort);
  const stopCounters = logCountersEvery(ingest.counters, config.metricsIntervalMs, logger);
  logger.info({ port }, 'ingest listening for the event source');
  return {
    async close() {
      stopCounters();
      await ingest.close();
      await rejections.flush();
      logger.info({ counters: ingest.counters.snapshot() }, 'ingest stopped');
      await disconnectRedis(redis);
    },
  };
});
