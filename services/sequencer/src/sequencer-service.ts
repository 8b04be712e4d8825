import { setTimeout as delay } from 'node:timers/promises';
import {
  closeWithin, connectRedis, disconnectRedis, HealthServer, keysFor, logCountersEvery, processName, redisCheck, ServiceMetrics,
  WaitReport, type Config, type Logger,
} from '@follower-maze/shared';
import { ActiveTerm } from './active-term.ts';
import { LeaderLease } from './leader-lease.ts';
import { SequencerMetrics, type TermEnding } from './sequencer-metrics.ts';
import { TrimJob } from './trim-job.ts';

/** How long the lease lasts unless renewed: a standby takes over within about this long. */
const LEASE_TTL_MS = 1500;
/** The holder renews this often, so two renewals can fail before the lease lapses. */
const RENEW_INTERVAL_MS = 400;
/** A standby tries to take the lease this often. */
const STANDBY_POLL_MS = 250;
/**
 * How long an ended term may take to close before the lease is let go regardless: a
 * close stuck on a Redis call must not keep the lease, renewed, for ever.
 */
const TERM_CLOSE_LIMIT_MS = 5000;

export interface SequencerService {
  readonly metricsPort: number;
  readonly lease: LeaderLease;
  readonly trimJob: TrimJob;
  /** The current term while this process is the active sequencer. */
  readonly active: ActiveTerm | undefined;
  close(): Promise<void>;
}

/**
 * A sequencer process: standby until it wins the lease, then active until it loses it
 * (or is fenced, or Redis reconnects), then standby again. Any number may run; one
 * commits at a time.
 */
export async function startSequencerService(config: Config, logger: Logger): Promise<SequencerService> {
  const keys = keysFor(config.keyPrefix, config.redisClusterNodes !== undefined);
  const metrics = new SequencerMetrics(new ServiceMetrics(), config.sequencer.reorderWindow);
  const redis = connectRedis(config, 'sequencer-lease', logger);
  metrics.service.watchRedis(redis, 'sequencer-lease');
  const health = await HealthServer.start(config.listenHost, config.metricsPort, metrics.service, [redisCheck(redis), metrics.roleCheck()]);
  const lease = new LeaderLease(redis, keys.sequencerLease, LEASE_TTL_MS);
  const waits = new WaitReport(redis, keys, processName('sequencer'), logger);
  const trimJob = new TrimJob(redis, keys, config.sequencer.trimIntervalMs, logger);
  try {
    await trimJob.start();
  } catch (error) {
    await health.close();
    waits.close();
    redis.disconnect();
    throw error;
  }
  let closing = false;
  let active: ActiveTerm | undefined;
  let stopCounters = () => undefined as void;

  /**
   * Renews the lease from the moment it is won, through the term's start-up (loading a
   * large follow graph can take longer than the TTL) until the term ends. Resolves when
   * the lease is lost: not renewed, or no answer for most of a TTL.
   */
  const keepLease = () => {
    let held = true;
    const lost = (async () => {
      let renewedAt = Date.now();
      while (!closing && held) {
        await delay(RENEW_INTERVAL_MS);
        if (!held) return;
        const renewed = await lease.renew().catch((error: Error) => {
          waits.begin('lease', `Redis to renew the lease (${error.message})`);
          return undefined;
        });
        if (renewed) {
          renewedAt = Date.now();
          waits.end('lease');
        }
        if (renewed === false || Date.now() - renewedAt > LEASE_TTL_MS * 0.8) {
          logger.warn('lease lost: stepping down');
          waits.end('lease');
          return;
        }
      }
    })();
    return { lost, stop: () => (held = false) };
  };

  const lead = async () => {
    const renewal = keepLease();
    let ending: TermEnding = 'failed';
    metrics.termStarting();
    try {
      const term = await ActiveTerm.begin(config, logger, lease.token, waits, metrics);
      if (closing) {
        ending = 'closed';
        return await term.close();
      }
      active = term;
      metrics.termActive(term.term, term.sequencer);
      stopCounters = logCountersEvery(term.sequencer.counters, config.metricsIntervalMs, logger);
      const exit = await Promise.race([term.ended, renewal.lost.then(() => 'lease-lost' as const)]);
      ending = exit;
      active = undefined;
      stopCounters();
      if (!(await closeWithin(term.close(), TERM_CLOSE_LIMIT_MS))) {
        logger.error({ exit, limitMs: TERM_CLOSE_LIMIT_MS }, 'the ended term did not close in time: letting the lease go');
      }
      logger.info({ exit, nextSeq: term.sequencer.nextSeq, counters: term.sequencer.counters.snapshot() }, 'term ended');
    } finally {
      metrics.termEnded(ending);
      renewal.stop();
      // A term that ended for a reason of its own (reset, Redis reconnect) lets the lease go at once.
      await lease.release().catch(() => undefined);
    }
  };

  const loop = (async () => {
    logger.info('standby: waiting for the sequencer lease');
    while (!closing) {
      const won = await lease.acquire().then(
        (taken) => {
          waits.end('redis');
          return taken;
        },
        (error: Error) => {
          waits.begin('redis', `Redis to accept the lease (${error.message})`);
          return false;
        },
      );
      if (!won) {
        waits.begin('lease', 'the lease (standing by)', { expected: true });
        await delay(STANDBY_POLL_MS);
        continue;
      }
      waits.end('lease');
      try {
        await lead();
      } catch (error) {
        logger.error({ err: (error as Error).message }, 'active term failed; standing by');
        await delay(STANDBY_POLL_MS);
      }
    }
  })();

  logger.info({ metricsPort: health.port }, 'sequencer metrics and health endpoints listening');
  return {
    metricsPort: health.port,
    lease,
    trimJob,
    get active() {
      return active;
    },
    async close() {
      closing = true;
      await health.close();
      const term = active;
      active = undefined;
      await term?.close();
      await loop;
      await lease.release().catch(() => undefined);
      await trimJob.close();
      waits.close();
      await disconnectRedis(redis);
    },
  };
}
