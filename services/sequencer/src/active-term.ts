import type { RedisClient as Redis } from '@follower-maze/shared';
import { UnrecoverableError, Worker } from 'bullmq';
import { Cluster } from 'ioredis';
import {
  closeWithin, connectRedis, disconnectRedis, keysFor, RejectionLog, type Config, type Logger, type WaitReport,
} from '@follower-maze/shared';
import { defineCommitScript } from './commit-script.ts';
import { ClusterChannelSubscriber } from './cluster-channel-subscriber.ts';
import { definePublishScript } from './publish-script.ts';
import { GatewayTracker, type ChannelSubscriber } from './gateway-tracker.ts';
import { loadFollowGraph } from './graph-loader.ts';
import { OPERATIONS_QUEUE, type Operation, type ResetRequest } from '@follower-maze/shared';
import { resetSequence } from './reset-script.ts';
import { Sequencer, type SequencerExit } from './sequencer.ts';
import { ShardedPublisher } from './sharded-publisher.ts';
import { whenStateMayBeLost } from './state-redis-watch.ts';
import { StreamReader } from './stream-reader.ts';
import { restWorkerOnErrors } from './worker-errors.ts';
import type { SequencerMetrics } from './sequencer-metrics.ts';

/** How long the operations worker may take to close before its connection is simply dropped. */
const WORKER_CLOSE_LIMIT_MS = 2000;
/** Skipped ranges kept for operators in `<prefix>:skipped`. */
const KEPT_SKIPPED_RANGES = 1000;

export type TermExit = SequencerExit | 'reset' | 'redis-reconnected';

/**
 * One period of leadership: state loaded from Redis when the lease was won, the
 * sequencer loop, and the worker for operators' jobs. It ends when closed, when the
 * fence refuses it, after a reset, or when its Redis connection dropped (Redis may have
 * lost recent writes, so memory is not trusted and the next term reloads).
 */
export class ActiveTerm {
  readonly ended: Promise<TermExit>;
  private constructor(
    /** Numbered in Redis, one more per term begun by any sequencer. */
    readonly term: number,
    readonly sequencer: Sequencer,
    private readonly connections: readonly Redis[],
    private readonly tracker: GatewayTracker,
    private readonly worker: Worker,
    private readonly rejections: RejectionLog,
    ended: Promise<TermExit>,
  ) {
    this.ended = ended;
  }

  static async begin(config: Config, logger: Logger, token: string, waits: WaitReport, metrics: SequencerMetrics): Promise<ActiveTerm> {
    const connections = ['sequencer', 'sequencer-reader', 'sequencer-jobs'].map((name) => {
      const connection = connectRedis(config, name, logger);
      metrics.service.watchRedis(connection, name);
      return connection;
    }) as [Redis, Redis, Redis];
    const [redis] = connections;
    let subscriber: ChannelSubscriber;
    if (redis instanceof Cluster) {
      subscriber = new ClusterChannelSubscriber(redis, config, 'sequencer-subscriber', logger);
    } else {
      const connection = connectRedis(config, 'sequencer-subscriber', logger);
      metrics.service.watchRedis(connection, 'sequencer-subscriber');
      subscriber = connection;
    }
    try {
      return await ActiveTerm.load(config, logger, token, { waits, metrics }, connections, subscriber);
    } catch (error) {
      for (const connection of connections) connection.disconnect();
      subscriber.disconnect();
      throw error;
    }
  }

  private static async load(
    config: Config, logger: Logger, token: string, { waits, metrics }: { waits: WaitReport; metrics: SequencerMetrics },
    connections: [Redis, Redis, Redis], subscriber: ChannelSubscriber,
  ): Promise<ActiveTerm> {
    const keys = keysFor(config.keyPrefix, config.redisClusterNodes !== undefined);
    const [redis, readerConnection, jobsConnection] = connections;
    const [nextSeq, batchSeq, epoch] = await redis.hmget(keys.position, 'nextSeq', 'batchSeq', 'epoch');
    const position = { nextSeq: Number(nextSeq ?? 1), batchSeq: Number(batchSeq ?? 0), epoch: Number(epoch ?? 0) };
    // Each term numbers its batches afresh: gateways see from the term that boundaries may have moved.
    const term = await redis.hincrby(keys.position, 'term', 1);
    const reader = new StreamReader(readerConnection, keys, config.sequencer.readEntries, token, String(position.epoch));
    await reader.start();
    const rejections = new RejectionLog(redis, keys.rejected, 'sequencer', logger);
    let tracker: GatewayTracker | undefined;
    const sequencer = new Sequencer(
      reader,
      defineCommitScript(redis, keys, { token, epoch: position.epoch, term }),
      redis instanceof Cluster ? new ShardedPublisher(redis, keys) : definePublishScript(redis, keys, { token, epoch: position.epoch }),
      { progress: (ms) => tracker!.progress(ms), slowestAcknowledged: (latest) => tracker!.slowestAcknowledged(latest) },
      {
        waits,
        metrics,
        rejections,
        recordSkipped: (range) => void redis.multi()
          .lpush(keys.skipped, JSON.stringify({ at: new Date().toISOString(), ...range }))
          .ltrim(keys.skipped, 0, KEPT_SKIPPED_RANGES - 1)
          .exec()
          .catch((error: Error) => logger.warn({ ...range, err: error.message }, 'could not keep the skipped range')),
      },
      config.sequencer, logger, position,
    );
    const edges = await loadFollowGraph(redis, keys, position.epoch, sequencer.router.graph);
    tracker = new GatewayTracker(subscriber, redis, keys, sequencer.router, sequencer.window, config.sequencer.gatewayTtlMs, logger);
    await tracker.start();

    let endWith: (exit: TermExit) => void = () => undefined;
    const forced = new Promise<TermExit>((resolve) => (endWith = resolve));
    const worker = new Worker(OPERATIONS_QUEUE, async (job) => {
      const operation = job.name as Operation;
      if (operation === 'replay') {
        sequencer.replayPending();
        return { replaying: true, nextSeq: sequencer.nextSeq };
      }
      if (operation === 'skip-gap') {
        const skipped = await sequencer.skipGap();
        return skipped ? { skipped, nextSeq: sequencer.nextSeq } : { skipped: 'nothing: no event is held behind a missing one', nextSeq: sequencer.nextSeq };
      }
      const { epoch: requestedEpoch } = job.data as ResetRequest;
      if (requestedEpoch !== position.epoch) {
        // Late or repeated: retrying cannot make it right, and it must not stop this term.
        throw new UnrecoverableError(`reset requested for epoch ${requestedEpoch}, the epoch is ${position.epoch}`);
      }
      await sequencer.close();
      try {
        return await resetSequence(redis, keys, token, requestedEpoch);
      } finally {
        // Reset or refused, this term's state is no longer the truth: the next term reloads.
        endWith('reset');
      }
    }, { connection: jobsConnection, prefix: keys.jobsPrefix, concurrency: 1 });
    restWorkerOnErrors(worker, 'operations', logger);
    whenStateMayBeLost(redis, keys, () => endWith('redis-reconnected'));

    logger.info({ ...position, term, edges }, 'active: resumed from the committed position');
    const ended = Promise.race([sequencer.start(), forced]);
    return new ActiveTerm(term, sequencer, connections, tracker, worker, rejections, ended);
  }

  async close(): Promise<void> {
    await this.sequencer.close();
    this.tracker.close();
    // Lets a running reset job record its outcome, but never waits for ever (a restarting Redis).
    await closeWithin(this.worker.close(), WORKER_CLOSE_LIMIT_MS);
    await this.rejections.flush();
    for (const connection of this.connections) await disconnectRedis(connection);
  }
}
