import { closeSync, mkdirSync, openSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectRedis, disconnectRedis, keysFor, type Logger } from '@follower-maze/shared';
import type { RedisClient as Redis } from '@follower-maze/shared';
import { Stack } from '../../stack/src/stack.ts';
import { optionsFromEnv, runVerification, type ProgressSnapshot, type VerificationReport } from '../../verify/src/index.ts';
import type { RunOptions } from './bench-options.ts';
import { monotonicNowUs, summarizeCpuProfiles, type ProfileSummary, type ProfileWindow } from './cpu-profile.ts';
import { freeClusterPortRange, freePorts } from '../../stack/src/free-ports.ts';
import { readRedisStats, resetRedisStats, type RedisStats } from './redis-stats.ts';
import { formatCount, formatProgress, redisShapeName } from './report.ts';
import { RssSampler, type PeakRss } from './rss-sampler.ts';
import { readEventLoopDelays, type EventLoopWorst } from './event-loop-report.ts';
import { Crowd } from './crowd.ts';
import type { CrowdWorkerReport } from './crowd-worker.ts';
import { waitUntilReady } from '../../stack/src/readiness.ts';
import { waitUntilRoutable } from '../../stack/src/stack-probes.ts';
import { benchStackEnv, HOST, KEY_PREFIX } from './bench-stack.ts';
import { JoinLatencyProbe, type JoinLatency } from './join-latency-probe.ts';

/** Verification progress arrives every second; a line every few is enough to follow a run. */
const PROGRESS_LINE_INTERVAL_MS = 3000;
const PROFILE_TOP_FUNCTIONS = 15;
/** The checker draws its clients' users from ten times as many. */
const USERS_PER_CLIENT = 10;
/** The longest the extra users may take from their last id line written to all routable. */
const EXTRA_USERS_ROUTABLE_TIMEOUT_MS = 60_000;

export interface BenchResult {
  readonly events: number;
  readonly gateways: number;
  /** What Redis was, as `redisShapeName` says it. */
  readonly redisShape: string;
  readonly report: VerificationReport;
  /** Services first, in start order, then redis-server. */
  readonly peakRss: readonly PeakRss[];
  readonly redis: RedisStats;
  readonly profile: ProfileSummary | undefined;
  readonly logFile: string;
  /** Worst event-loop delay of each service during the run. */
  readonly eventLoop: readonly EventLoopWorst[];
  /** The extra online users, when there were any. */
  readonly crowd: (CrowdWorkerReport & { readonly connectMs: number }) | undefined;
  /** From each verification client's id line to its user's join being published. */
  readonly joinLatency: JoinLatency;
}

/**
 * One benchmark run: a fresh stack (private redis-server, or a private cluster, with AOF in a temporary
 * directory, the services with LOG_LEVEL=warn logging to a file in `runDir`), one
 * standard verification with the protocol's defaults, then the figures.
 */
export class BenchRun {
  private stack: Stack | undefined;
  private redis: Redis | undefined;
  private dataDir: string | undefined;
  private logFd: number | undefined;
  private crowd: Crowd | undefined;

  constructor(
    private readonly events: number,
    private readonly options: RunOptions,
    private readonly runDir: string,
    private readonly logger: Logger,
  ) {}

  async run(): Promise<BenchResult> {
    mkdirSync(this.runDir, { recursive: true });
    const logFile = join(this.runDir, 'services.log');
    this.logFd = openSync(logFile, 'a');
    const [redisPort, eventPort, ...gatewayPorts] = await freePorts(2 + this.options.gateways);
    this.dataDir = await mkdtemp(join(tmpdir(), 'fm-bench-redis-'));
    const { clusterMasters, clusterReplicas } = this.options;
    const clusterNodes = clusterMasters * (1 + clusterReplicas);
    const keys = keysFor(KEY_PREFIX, clusterMasters > 0);
    const profile = this.options.profile;
    const firstClusterPort = clusterMasters > 0 ? await freeClusterPortRange(clusterNodes) : 0;
    const stack = (this.stack = new Stack({
      // Like the one redis-server: AOF with everysec, in the run's temporary directory.
      ...(clusterMasters > 0 && {
        privateCluster: {
          ports: Array.from({ length: clusterNodes }, (_, index) => firstClusterPort + index), dataDir: join(this.dataDir, 'cluster'),
          replicasPerMaster: clusterReplicas,
        },
      }),
      redisPort: redisPort!,
      dataDir: this.dataDir,
      env: benchStackEnv(eventPort!, gatewayPorts[0]!),
      // Node writes the profile when the process exits, which Stack.stop() asks for with SIGTERM.
      ...(profile && { serviceNodeArgs: { [profile]: ['--cpu-prof', `--cpu-prof-dir=${this.runDir}`] } }),
      gatewayPorts,
      stdio: ['ignore', this.logFd, this.logFd],
      restart: true,
    }, this.logger));

    let sampler: RssSampler | undefined;
    let report: VerificationReport;
    let redisStats: RedisStats;
    let peakRss: PeakRss[];
    let runWindow: ProfileWindow;
    let runStartMs = 0;
    let crowdReport: BenchResult['crowd'];
    let joinLatency: JoinLatency;
    let probe: JoinLatencyProbe | undefined;
    try {
      await stack.start();
      const redisServers = stack.redisCluster
        ? stack.redisCluster.nodes.map((node, index) => ({ name: `redis-${index + 1}`, pid: () => node.pid }))
        : [{ name: 'redis-server', pid: () => stack.redis?.pid }];
      sampler = new RssSampler([...[...stack.processes.keys()].map((name) => ({ name, pid: () => stack.process(name).pid })), ...redisServers]);
      sampler.start();
      await waitUntilReady({ ...stack.redisTarget, keyPrefix: KEY_PREFIX, eventPort: eventPort!, gateways: gatewayPorts.length });
      const redis = (this.redis = connectRedis(stack.redisTarget, 'bench', this.logger));
      if (this.options.extraUsers > 0) {
        console.log(`  connecting ${formatCount(this.options.extraUsers)} extra online users`);
        this.crowd = await Crowd.connect(this.options.extraUsers, gatewayPorts);
        await waitUntilRoutable(redis, keys, this.options.extraUsers, EXTRA_USERS_ROUTABLE_TIMEOUT_MS);
        console.log(`  ${formatCount(this.options.extraUsers)} connected in ${formatCount(this.crowd.connectMs)} ms, all routable`);
      }
      await resetRedisStats(redis);
      probe = await JoinLatencyProbe.start(stack.redisUrl, keys);
      runStartMs = Date.now();
      const startUs = monotonicNowUs();
      report = await runVerification({
        ...optionsFromEnv({}), // The checker's defaults: seed 666, batches of 100, the source 200 ms after the last id line.
        concurrencyLevel: this.options.clients,
        numberOfUsers: this.options.clients * USERS_PER_CLIENT,
        eventHost: HOST,
        eventPort: eventPort!,
        clientHost: HOST,
        clientPorts: gatewayPorts,
        totalEvents: this.events,
        onProgress: progressPrinter(),
        onIdLineSent: (userId, atMs) => probe!.idLineSent(userId, atMs),
      });
      runWindow = { startUs, endUs: monotonicNowUs() };
      joinLatency = await probe.close();
      probe = undefined;
      redisStats = await readRedisStats(redis, keys.events);
      if (this.crowd) crowdReport = { ...(await this.crowd.stop()), connectMs: this.crowd.connectMs };
      this.crowd = undefined;
    } finally {
      probe?.kill();
      peakRss = (await sampler?.stop()) ?? [];
      await this.cleanup();
    }
    // Only now: the profiled processes have exited and written their profiles.
    const profileSummary = profile === undefined ? undefined : await summarizeCpuProfiles(this.runDir, PROFILE_TOP_FUNCTIONS, runWindow);
    const eventLoop = await readEventLoopDelays(logFile, peakRss, runStartMs);
    return {
      events: this.events, gateways: this.options.gateways, redisShape: this.redisShape, report, peakRss, redis: redisStats, profile: profileSummary, logFile, eventLoop, crowd: crowdReport, joinLatency,
    };
  }

  get redisShape(): string {
    return redisShapeName(this.options.clusterMasters, this.options.clusterReplicas, Number(process.env['REDIS_WAIT_REPLICAS'] ?? 0));
  }

  /** Stops the stack and deletes Redis's data; safe to call twice (Ctrl-C during a run). */
  async cleanup(): Promise<void> {
    const { redis, stack, dataDir, logFd, crowd } = this;
    this.redis = this.stack = this.dataDir = this.logFd = this.crowd = undefined;
    crowd?.kill();
    if (redis) await disconnectRedis(redis);
    await stack?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    if (logFd !== undefined) closeSync(logFd);
  }
}

function progressPrinter(): (progress: ProgressSnapshot) => void {
  let previous: ProgressSnapshot = { eventsSent: 0, notificationsReceived: 0, notificationsExpected: 0, elapsedMs: 0 };
  return (progress) => {
    if (progress.elapsedMs - previous.elapsedMs < PROGRESS_LINE_INTERVAL_MS) return;
    console.log(formatProgress(progress, previous));
    previous = progress;
  };
}
