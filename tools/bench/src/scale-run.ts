import { closeSync, mkdirSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { keysFor, type Keys, type Logger } from '@follower-maze/shared';
import { Stack } from '../../stack/src/stack.ts';
import { freePorts } from '../../stack/src/free-ports.ts';
import { waitUntilReady } from '../../stack/src/readiness.ts';
import { presenceByGateway, routableCount } from '../../stack/src/stack-probes.ts';
import { Crowd, type CrowdConnectReport } from './crowd.ts';
import type { CrowdWorkerReport } from './crowd-worker.ts';
import { CpuMeter } from './cpu-time.ts';
import { monotonicNowUs, summarizeCpuProfiles, type ProfileSummary, type ProfileWindow } from './cpu-profile.ts';
import { readEventLoopDelays, type EventLoopWorst } from './event-loop-report.ts';
import { counterGrowth, readKernelCounters, readSysctl, type KernelCounters } from './kernel-counters.ts';
import { MEMORY_PROBE_SIGNAL, type MemoryProbeReading } from './memory-probe.ts';
import type { ScaleOptions } from './scale-options.ts';
import { arrivalFigures, type ArrivalFigures } from './scale-figures.ts';
import { benchStackEnv, COUNTERS_INTERVAL_MS, HOST, KEY_PREFIX } from './bench-stack.ts';
import { formatCount } from './report.ts';

const PROGRESS_LINE_INTERVAL_MS = 1000;
const PRESENCE_POLL_MS = 50;
const PROBE_TIMEOUT_MS = 10_000;
const PROBE_POLL_MS = 20;
const PROFILE_TOP_FUNCTIONS = 20;
const KIB_BYTES = 1024;
const MEMORY_PROBE = fileURLToPath(new URL('./memory-probe.ts', import.meta.url));

export const now = (): number => performance.timeOrigin + performance.now();

/** One gateway process's memory at one moment. */
export interface MemorySample {
  /** VmRSS as it was, before anything else was asked of the process. */
  readonly rssAsIsBytes: number;
  /** VmRSS right after a full garbage collection (as it was, when the probe did not answer). */
  readonly rssBytes: number;
  /** V8 heap in use after that collection; undefined when the probe did not answer. */
  readonly heapUsedBytes: number | undefined;
}

export interface GatewayFigures {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  /** Crowd connections to this gateway's port, and users in its presence set. */
  readonly connections: number;
  readonly presence: number;
  readonly idle: MemorySample;
  readonly loaded: MemorySample | undefined;
}

/** CPU seconds each group of processes used during a phase. */
export type CpuUse = readonly { readonly group: string; readonly seconds: number }[];

export interface ConnectFigures extends CrowdConnectReport {
  /** When the presence sets first held every client (this machine's clock, ms); undefined if they never did. */
  readonly routableAtMs: number | undefined;
  /** From just before the first connection to every client routable. */
  readonly cpu: CpuUse;
  /** Machine-wide, from just before the first connection to every client routable. */
  readonly kernel: KernelCounters | undefined;
}

export interface BroadcastFigures {
  readonly seq: number;
  readonly sentAtMs: number;
  /** The broadcast's batch-end marker, published with the last part, after sending; undefined if not heard. */
  readonly publishedAfterMs: number | undefined;
  readonly complete: boolean;
  readonly all: ArrivalFigures | undefined;
  /** Per gateway, in port order. */
  readonly perGateway: readonly (ArrivalFigures | undefined)[];
  readonly missing: number;
  /** From just before sending to the last arrival (or the timeout). */
  readonly cpu: CpuUse;
  /** Machine-wide, over the same span. */
  readonly kernel: KernelCounters | undefined;
}

export interface ScaleResult {
  readonly options: ScaleOptions;
  readonly maxClientsPerGateway: number;
  readonly connect: ConnectFigures | undefined;
  readonly gateways: readonly GatewayFigures[];
  readonly broadcasts: readonly BroadcastFigures[];
  /** What the crowd saw over the whole run, read as it disconnected. */
  readonly crowd: CrowdWorkerReport | undefined;
  readonly eventLoop: readonly EventLoopWorst[];
  readonly profile: ProfileSummary | undefined;
  readonly processes: readonly { readonly name: string; readonly pids: readonly number[] }[];
  readonly logFile: string;
  readonly runDir: string;
  /** net.core.netdev_max_backlog: how many packets a CPU's input backlog (loopback's included) holds. */
  readonly netdevMaxBacklog: string | undefined;
  /** Machine-wide, over the whole run. */
  readonly kernel: KernelCounters | undefined;
  /** Why the run failed; empty when it passed. */
  readonly failures: readonly string[];
}

/**
 * `npm run bench:scale`: a fresh stack (private redis-server, ingest, one sequencer, N
 * gateway processes each on a port of its own), the gateways' memory idle, a crowd of
 * idle clients connected to them (connect rate, until routable), their memory again,
 * then broadcasts through the event port, each timed until every client has it.
 */
export class ScaleRun {
  private stack: Stack | undefined;
  private redis: Redis | undefined;
  private subscriber: Redis | undefined;
  private source: Socket | undefined;
  private crowd: Crowd | undefined;
  private dataDir: string | undefined;
  private logFd: number | undefined;
  private readonly failures: string[] = [];
  private readonly markersHeardAtMs: number[] = [];
  private cpu: CpuMeter | undefined;

  constructor(
    private readonly options: ScaleOptions,
    private readonly maxClientsPerGateway: number,
    private readonly runDir: string,
    private readonly logger: Logger,
    private readonly say: (line: string) => void = console.log,
  ) {}

  async run(): Promise<ScaleResult> {
    const { options } = this;
    mkdirSync(this.runDir, { recursive: true });
    const probeDir = join(this.runDir, 'memory');
    mkdirSync(probeDir, { recursive: true });
    const logFile = join(this.runDir, 'services.log');
    this.logFd = openSync(logFile, 'a');
    const [redisPort, eventPort, ...gatewayPorts] = await freePorts(2 + options.gateways);
    this.dataDir = await mkdtemp(join(tmpdir(), 'fm-scale-redis-'));
    const keys = keysFor(KEY_PREFIX);
    const profile = options.profile;
    const stack = (this.stack = new Stack({
      redisPort: redisPort!,
      dataDir: this.dataDir,
      env: { ...benchStackEnv(eventPort!, gatewayPorts[0]!), GATEWAY_MAX_CLIENTS: String(this.maxClientsPerGateway) },
      ...(profile && { serviceNodeArgs: { [profile]: ['--cpu-prof', `--cpu-prof-dir=${this.runDir}`] } }),
      // The probe answers SIGUSR2 with the gateway's heap after a full collection; the gateway knows nothing of it.
      placement: (_name, service) => service === 'gateway'
        ? { nodeArgs: ['--expose-gc', '--import', MEMORY_PROBE], env: { BENCH_MEMORY_PROBE_DIR: probeDir } }
        : {},
      gatewayPorts,
      stdio: ['ignore', this.logFd, this.logFd],
      // A service that dies fails the run; restarting it would hide that.
      restart: false,
    }, this.logger));
    const gatewayNames = gatewayPorts.map((_, index) => (gatewayPorts.length > 1 ? `gateway-${index + 1}` : 'gateway'));

    let connectFigures: ConnectFigures | undefined;
    const gateways: GatewayFigures[] = [];
    const broadcasts: BroadcastFigures[] = [];
    let crowdReport: CrowdWorkerReport | undefined;
    let eventLoop: EventLoopWorst[] = [];
    let window: ProfileWindow | undefined;
    const processes = () => [...stack.processes].map(([name, process]) => ({ name, pids: process.pid === undefined ? [] : [process.pid] }));
    let seen: ReturnType<typeof processes> = [];
    const kernelAtStart = await readKernelCounters();
    try {
      await stack.start();
      await waitUntilReady({ redisUrl: stack.redisUrl, keyPrefix: KEY_PREFIX, eventPort: eventPort!, gateways: gatewayPorts.length });
      seen = processes();
      const redis = (this.redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: 1 }));
      redis.on('error', () => undefined);
      this.say(`  stack up: ${options.gateways} gateways (ports ${gatewayPorts.join(', ')}), GATEWAY_MAX_CLIENTS=${this.maxClientsPerGateway}`);

      const crowdWorkers = Math.ceil(options.clients / options.clientsPerWorker);
      this.say(`  starting ${crowdWorkers} crowd processes (127.0.0.2 to 127.0.0.${1 + crowdWorkers})`);
      const crowd = (this.crowd = await Crowd.start(options.clients, gatewayPorts, {
        clientsPerWorker: options.clientsPerWorker, connectsInFlight: options.connectsInFlight,
      }));

      this.cpu = new CpuMeter(() => new Map([
        ['gateways', gatewayNames.flatMap((name) => pidOf(stack, name))],
        ['sequencer', pidOf(stack, 'sequencer')],
        ['ingest', pidOf(stack, 'ingest')],
        ['redis-server', stack.redis?.pid === undefined ? [] : [stack.redis.pid]],
        ['crowd', crowd.pids],
      ]));
      await delay(options.settleMs);
      const idle: MemorySample[] = [];
      for (const name of gatewayNames) idle.push(await this.sampleMemory(stack.process(name).pid!, probeDir));
      this.say(`  idle gateways: RSS ${idle.map(({ rssBytes }) => mib(rssBytes)).join(', ')} MiB (after a full GC)`);

      this.say(`  connecting ${formatCount(options.clients)} clients, ${options.connectsInFlight} at a time per crowd process`);
      connectFigures = await this.connectCrowd(crowd, redis, keys);
      if (connectFigures) {
        await delay(options.settleMs);
        const presence = await presenceByPid(redis, keys);
        for (const [index, name] of gatewayNames.entries()) {
          const pid = stack.process(name).pid!;
          gateways.push({
            name, pid, port: gatewayPorts[index]!, connections: connectFigures.perGateway[index]!, presence: presence.get(pid) ?? 0,
            idle: idle[index]!, loaded: await this.sampleMemory(pid, probeDir),
          });
        }
        this.say(`  loaded gateways: RSS ${gateways.map(({ loaded }) => mib(loaded!.rssBytes)).join(', ')} MiB (after a full GC)`);

        const subscriber = (this.subscriber = new Redis(stack.redisUrl, { maxRetriesPerRequest: 1 }));
        subscriber.on('error', () => undefined);
        subscriber.on('message', () => this.markersHeardAtMs.push(now()));
        await subscriber.subscribe(keys.batchEnd);
        const source = (this.source = await openSource(HOST, eventPort!));
        const startUs = monotonicNowUs();
        for (let seq = 1; seq <= options.broadcasts; seq++) {
          const figures = await this.broadcast(crowd, source, seq);
          broadcasts.push(figures);
          if (!figures.complete) break;
          if (seq < options.broadcasts) await delay(options.settleMs);
        }
        window = { startUs, endUs: monotonicNowUs() };
        // One more counters line of every service, so that the last broadcast's event-loop delays are in the log.
        await delay(COUNTERS_INTERVAL_MS + 200);
        if (broadcasts[0]) eventLoop = await readEventLoopDelays(logFile, seen.map((entry) => ({ ...entry, peakBytes: 0 })), broadcasts[0].sentAtMs);
      }
      const died = gatewayNames.concat(['ingest', 'sequencer']).filter((name) => stack.process(name).pid === undefined);
      if (died.length > 0) this.failures.push(`died during the run: ${died.join(', ')}`);
      this.crowd = undefined;
      crowdReport = await crowd.stop();
      this.checkCrowd(crowdReport);
    } catch (error) {
      this.failures.push(`aborted: ${(error as Error).message}`);
    } finally {
      await this.cleanup();
    }
    // Only now: the profiled processes have exited and written their profiles.
    const profileSummary = profile === undefined || window === undefined
      ? undefined
      : await summarizeCpuProfiles(this.runDir, PROFILE_TOP_FUNCTIONS, window);
    return {
      netdevMaxBacklog: await readSysctl('net.core.netdev_max_backlog'), kernel: await kernelGrowthSince(kernelAtStart),
      options, maxClientsPerGateway: this.maxClientsPerGateway, connect: connectFigures, gateways, broadcasts, crowd: crowdReport,
      eventLoop, profile: profileSummary, processes: seen, logFile, runDir: this.runDir, failures: this.failures,
    };
  }

  /** Connects everyone, saying how far it got every second; undefined (and a failure noted) if not all became routable in time. */
  private async connectCrowd(crowd: Crowd, redis: Redis, keys: Keys): Promise<ConnectFigures | undefined> {
    const { clients, timeoutMs } = this.options;
    await this.cpu!.begin();
    const kernelBefore = await readKernelCounters();
    const startedAtMs = now();
    let report: CrowdConnectReport | undefined;
    let failed: Error | undefined;
    const window = this.options.connectWindow;
    crowd.connectAll(window > 0 ? window : undefined).then((done) => (report = done), (error: Error) => (failed = error));
    let routable = 0;
    let lastLineAtMs = startedAtMs;
    let routableAtMs: number | undefined;
    while (failed === undefined) {
      routable = await routableCount(redis, keys);
      if (window > 0) crowd.allow(routable + window);
      const atMs = now();
      if (report !== undefined && routable >= clients) {
        routableAtMs = atMs;
        break;
      }
      if (atMs - lastLineAtMs >= PROGRESS_LINE_INTERVAL_MS) {
        lastLineAtMs = atMs;
        const { idLinesSent, closedByServer } = crowd.progress();
        this.say(
          `  [${seconds(atMs - startedAtMs)} s] id lines sent ${formatCount(idLinesSent)} / ${formatCount(clients)}, ` +
            `routable ${formatCount(routable)}${closedByServer > 0 ? `, ${formatCount(closedByServer)} DISCONNECTED` : ''}`,
        );
      }
      if (atMs - startedAtMs > timeoutMs) break;
      await delay(PRESENCE_POLL_MS);
    }
    const cpu = await this.cpu!.end();
    const kernel = await kernelGrowthSince(kernelBefore);
    if (failed) this.failures.push(`connecting failed: ${failed.message}`);
    if (!report) {
      if (!failed) this.failures.push(`not every client had written its id line after ${timeoutMs} ms (BENCH_SCALE_TIMEOUT_MS)`);
      return undefined;
    }
    if (report.connected < clients) this.failures.push(`only ${report.connected} of ${clients} clients connected`);
    if (routableAtMs === undefined) this.failures.push(`only ${routable} of ${clients} clients routable after ${timeoutMs} ms`);
    this.say(`  all ${formatCount(report.connected)} id lines written in ${seconds(report.lastIdLineAtMs - report.firstConnectAtMs)} s` +
      `${routableAtMs === undefined ? '' : `, all routable ${seconds(routableAtMs - report.firstConnectAtMs)} s after the first connect`}`);
    return { ...report, routableAtMs, cpu, kernel };
  }

  /** Sends broadcast `seq` through the event port and waits until it reached every client (or the timeout). */
  private async broadcast(crowd: Crowd, source: Socket, seq: number): Promise<BroadcastFigures> {
    const { clients, timeoutMs } = this.options;
    await crowd.arm(seq);
    await this.cpu!.begin();
    const kernelBefore = await readKernelCounters();
    const sentAtMs = now();
    source.write(`${seq}|B\r\n`);
    const progress = setInterval(() => {
      const { reached, closedByServer } = crowd.progress();
      this.say(`  broadcast ${seq}: reached ${formatCount(reached)} / ${formatCount(clients)} after ${seconds(now() - sentAtMs)} s` +
        `${closedByServer > 0 ? `, ${formatCount(closedByServer)} DISCONNECTED` : ''}`);
    }, PROGRESS_LINE_INTERVAL_MS);
    const complete = await crowd.waitComplete(seq, timeoutMs).finally(() => clearInterval(progress));
    const cpu = await this.cpu!.end();
    const kernel = await kernelGrowthSince(kernelBefore);
    const arrivals = await crowd.arrivals();
    const all = arrivalFigures(sentAtMs, arrivals.arrivalsPerGateway.flat());
    const marker = this.markersHeardAtMs.find((atMs) => atMs >= sentAtMs);
    const figures: BroadcastFigures = {
      seq, sentAtMs, complete, all, missing: arrivals.missing, cpu, kernel,
      publishedAfterMs: marker === undefined ? undefined : marker - sentAtMs,
      perGateway: arrivals.arrivalsPerGateway.map((times) => arrivalFigures(sentAtMs, times)),
    };
    if (!complete) this.failures.push(`broadcast ${seq} had not reached every client after ${timeoutMs} ms`);
    if (arrivals.missing > 0) this.failures.push(`broadcast ${seq} did not reach ${arrivals.missing} clients`);
    this.say(`  broadcast ${seq}: reached ${formatCount(all?.count ?? 0)} clients, the last ${all ? `${formatCount(all.lastMs)} ms` : '-'} after sending` +
      ` (p50 ${all ? formatCount(all.p50Ms) : '-'} ms; published by the sequencer after ${figures.publishedAfterMs === undefined ? '-' : formatCount(figures.publishedAfterMs)} ms)`);
    return figures;
  }

  private checkCrowd(report: CrowdWorkerReport): void {
    if (report.closedByServer > 0) this.failures.push(`${report.closedByServer} clients were disconnected by the gateways`);
    if (report.badLines > 0) this.failures.push(`${report.badLines} lines received that were not a CRLF-terminated broadcast`);
    if (report.outOfOrder > 0) this.failures.push(`${report.outOfOrder} broadcasts received twice or out of order`);
    if (report.unexpected > 0) this.failures.push(`${report.unexpected} broadcasts received that were not sent`);
  }

  /** RSS as it is, then (by the probe) a full GC, the heap, and RSS again. */
  private async sampleMemory(pid: number, probeDir: string): Promise<MemorySample> {
    const rssAsIsBytes = await readRssBytes(pid);
    const file = join(probeDir, `${pid}.json`);
    await rm(file, { force: true });
    process.kill(pid, MEMORY_PROBE_SIGNAL);
    const deadline = now() + PROBE_TIMEOUT_MS;
    let reading: MemoryProbeReading | undefined;
    while (reading === undefined && now() < deadline) {
      reading = await readFile(file, 'utf8').then((text) => JSON.parse(text) as MemoryProbeReading, () => undefined);
      if (reading === undefined) await delay(PROBE_POLL_MS);
    }
    if (reading === undefined) this.say(`  ! the memory probe of pid ${pid} did not answer: RSS as it is, no heap figure`);
    return { rssAsIsBytes, rssBytes: reading ? await readRssBytes(pid) : rssAsIsBytes, heapUsedBytes: reading?.heapUsed };
  }

  /** Stops the crowd and the stack and deletes Redis's data; safe to call twice (Ctrl-C during a run). */
  async cleanup(): Promise<void> {
    const { redis, subscriber, source, stack, crowd, dataDir, logFd } = this;
    this.redis = this.subscriber = this.source = this.stack = this.crowd = this.dataDir = this.logFd = undefined;
    crowd?.kill();
    source?.destroy();
    subscriber?.disconnect();
    redis?.disconnect();
    await stack?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    if (logFd !== undefined) closeSync(logFd);
  }
}

/** Presence set sizes by gateway pid (a gateway id is `<host>-<pid>-<random>`). */
async function presenceByPid(redis: Redis, keys: Keys): Promise<Map<number, number>> {
  const byGateway = await presenceByGateway(redis, keys);
  return new Map(Array.from(byGateway, ([id, count]) => [Number(id.split('-').at(-2)), count]));
}

async function kernelGrowthSince(before: KernelCounters | undefined): Promise<KernelCounters | undefined> {
  const after = await readKernelCounters();
  return before && after && counterGrowth(before, after);
}

function pidOf(stack: Stack, name: string): number[] {
  const pid = stack.process(name).pid;
  return pid === undefined ? [] : [pid];
}

function openSource(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host, () => {
      socket.off('error', reject);
      socket.on('error', () => undefined);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

async function readRssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * KIB_BYTES;
}

function mib(bytes: number): string {
  return (bytes / KIB_BYTES / KIB_BYTES).toFixed(1);
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}
