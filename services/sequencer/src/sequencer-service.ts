import { connectRedis, disconnectRedis, keysFor, logCountersEvery, RejectionLog, type Config, type Logger } from '@follower-maze/shared';
import { defineCommitScript } from './commit-script.ts';
import { GatewayTracker } from './gateway-tracker.ts';
import { loadFollowGraph } from './graph-loader.ts';
import { Sequencer } from './sequencer.ts';
import { StreamReader } from './stream-reader.ts';
import { TrimJob } from './trim-job.ts';

export interface SequencerService {
  readonly sequencer: Sequencer;
  readonly trimJob: TrimJob;
  close(): Promise<void>;
}

/**
 * Restores the committed state (position, follow graph, who is online) and starts the
 * loop; `main.ts` runs it as a process, tests in-process.
 */
export async function startSequencerService(config: Config, logger: Logger): Promise<SequencerService> {
  const keys = keysFor(config.keyPrefix);
  const redis = connectRedis(config.redisUrl, 'sequencer', logger);
  const reader = new StreamReader(connectRedis(config.redisUrl, 'sequencer-reader', logger), keys, config.sequencer.readEntries);
  await reader.ensureGroup();

  const nextSeq = Number((await redis.hget(keys.position, 'nextSeq')) ?? 1);
  const rejections = new RejectionLog(redis, keys.rejected, 'sequencer', logger);
  let tracker: GatewayTracker | undefined;
  const sequencer = new Sequencer(
    reader,
    defineCommitScript(redis, keys),
    (timeoutMs) => tracker!.progress(timeoutMs),
    rejections,
    config.sequencer,
    logger,
    nextSeq,
  );
  const edges = await loadFollowGraph(redis, keys, sequencer.router.graph);
  tracker = new GatewayTracker(
    connectRedis(config.redisUrl, 'sequencer-subscriber', logger),
    redis, keys, sequencer.router, sequencer.window, config.sequencer.gatewayTtlMs, logger,
  );
  await tracker.start();
  const trimJob = new TrimJob(redis, keys, config.sequencer.trimIntervalMs, logger);
  await trimJob.start();
  sequencer.start();
  const stopCounters = logCountersEvery(sequencer.counters, config.metricsIntervalMs, logger);
  logger.info({ nextSeq, edges }, 'sequencer resumed from its committed position');

  return {
    sequencer,
    trimJob,
    async close() {
      stopCounters();
      await sequencer.close();
      tracker.close();
      await trimJob.close();
      await rejections.flush();
      logger.info({ nextSeq: sequencer.nextSeq, counters: sequencer.counters.snapshot() }, 'sequencer stopped');
      await disconnectRedis(redis);
    },
  };
}
