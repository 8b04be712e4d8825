import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Crowd } from '../../bench/src/crowd.ts';
import { ScratchStack } from '../../stack/src/scratch-stack.ts';
import { waitUntilRoutable } from '../../stack/src/stack-probes.ts';
import { optionsFromEnv, runVerification, type LiveProgress, type VerificationReport } from '../../verify/src/index.ts';
import { FAULTS, type Fault, type FaultContext, type FaultName } from './faults.ts';
import { watchRecovery } from './recovery-watch.ts';
import { randomForRun } from './run-random.ts';
import type { SoakLoad } from './soak-options.ts';

/**
 * A client waiting this long for a notification fails the run. Shorter than the
 * checker's 20 s: every fault here is over within seconds, and a stuck run should not
 * hold the soak up.
 */
const CLIENT_TIMEOUT_MS = 10_000;
/**
 * The fault begins once the source has sent a random share of the events within these
 * bounds: by count, not time, so that it lands inside the run also at full speed.
 */
const EARLIEST_FAULT = 0.15;
const LATEST_FAULT = 0.7;
/** The longest the crowd may take from its last id line written to every one of its users routable. */
const CROWD_ROUTABLE_TIMEOUT_MS = 60_000;
/** A fault whose injection hangs (Redis not coming back) is given up after this. */
const FAULT_TIMEOUT_MS = 30_000;
const POLL_MS = 10;

export interface SoakRunPlan {
  readonly fault: FaultName;
  /** 1-based. */
  readonly run: number;
  readonly seed: number;
  readonly load: SoakLoad;
  /** Where the services' log of a failed run is kept. */
  readonly logsDir: string;
}

export interface SoakRunResult {
  readonly fault: FaultName;
  readonly run: number;
  readonly ok: boolean;
  /** The verifier's failures, then what went wrong with the soak's own steps. */
  readonly failures: readonly string[];
  readonly verificationSeed: number;
  /** When the fault began, in ms after the first event was sent. */
  readonly faultAtMs?: number | undefined;
  /** What exactly the fault did. */
  readonly faultDetail?: string | undefined;
  /** Undefined when notifications never flowed again (the run failed). */
  readonly recoveryMs?: number | undefined;
  readonly report?: VerificationReport | undefined;
  /** Processes the stack's supervisor started again during the run. */
  readonly restarted: readonly string[];
  /** The crowd's sockets that the gateways closed (a killed gateway's, by design). */
  readonly crowdClosed?: number | undefined;
  /** Everything: stack start, verification, stop. */
  readonly wallMs: number;
  /** The services' log, kept when the run failed. */
  readonly keptLog?: string | undefined;
}

type Measured = Omit<SoakRunResult, 'fault' | 'run' | 'verificationSeed' | 'wallMs' | 'keptLog'>;

/** What a run knows of its fault's context before the fault is injected. */
type RunContext = Omit<FaultContext, 'begin'>;

interface FaultOutcome {
  atMs?: number;
  detail?: string;
  recoveryMs?: number;
  error?: string;
}

const NO_PROGRESS: LiveProgress = { eventsSent: 0, notificationsReceived: 0, notificationsExpected: 0, highestSeqReceived: 0, elapsedMs: 0 };

/**
 * One soak run: a fresh stack, one verification run against it at a capped rate, and
 * one fault injected at a random moment while it runs; then the verdict, the time to
 * recover, and the services' log if the run failed.
 */
export class SoakRun {
  private stack: ScratchStack | undefined;
  private crowd: Crowd | undefined;
  private stopped: Promise<void> | undefined;

  constructor(private readonly plan: SoakRunPlan) {}

  async run(): Promise<SoakRunResult> {
    const { fault: name, run, seed, load, logsDir } = this.plan;
    const startedAt = performance.now();
    const fault = FAULTS[name];
    const random = randomForRun(seed, name, run);
    const verificationSeed = random.nextUint32();
    const dueEvents = Math.floor(load.events * (EARLIEST_FAULT + (LATEST_FAULT - EARLIEST_FAULT) * random.nextFloat()));
    const result = (measured: Measured, keptLog?: string): SoakRunResult => ({
      fault: name, run, verificationSeed, ...measured, wallMs: performance.now() - startedAt, keptLog,
    });
    let stack: ScratchStack;
    try {
      const cluster = fault.redisCluster;
      stack = this.stack = await ScratchStack.start({
        appendfsync: fault.appendfsync,
        gateways: load.gateways,
        env: { ...cluster?.env, GATEWAY_MAX_CLIENTS: String(load.maxClientsPerGateway) },
        ...(cluster && { redisCluster: { masters: cluster.masters, replicasPerMaster: cluster.replicasPerMaster } }),
      });
      if (load.crowd > 0) {
        this.crowd = await Crowd.connect(load.crowd, stack.gatewayPorts);
        // Written id lines are not joins yet: the verification's own connect storm is to meet an idle crowd, not its tail.
        await waitUntilRoutable(stack.redis, stack.keys, load.crowd, CROWD_ROUTABLE_TIMEOUT_MS);
      }
    } catch (error) {
      const what = this.stack ? 'the crowd did not connect' : 'the stack did not start';
      await this.stop();
      return result({ ok: false, failures: [`${what}: ${(error as Error).message}`], restarted: [] });
    }
    const keptLog = join(logsDir, `${name}-run-${run}.log`);
    try {
      const measured = await this.verifyThroughFault(stack, fault, { stack, run, random }, verificationSeed, dueEvents);
      // A service that died is worth a look even when the run passed.
      const keep = !measured.ok || measured.restarted.length > 0;
      await this.stop(keep ? keptLog : undefined);
      return result(measured, keep ? keptLog : undefined);
    } finally {
      await this.stop(keptLog);
    }
  }

  /** Stops the crowd and the stack (also on Ctrl-C during a run); only the first call counts. */
  stop(keepLogAt?: string): Promise<void> {
    this.crowd?.kill();
    this.stopped ??= this.stack?.stop(keepLogAt) ?? Promise.resolve();
    return this.stopped;
  }

  private async verifyThroughFault(stack: ScratchStack, fault: Fault, context: RunContext, randomSeed: number, dueEvents: number): Promise<Measured> {
    const { load } = this.plan;
    let progress = (): LiveProgress => NO_PROGRESS;
    let ended = false;
    const verification = runVerification({
      ...optionsFromEnv({}), // The checker's defaults: batches of 100, the source 200 ms after the last id line.
      ...stack.clientTarget,
      concurrencyLevel: load.clients,
      numberOfUsers: load.users,
      totalEvents: load.events,
      ...(load.eventsPerSecond !== undefined && { maxEventsPerSecond: load.eventsPerSecond }),
      randomSeed,
      timeoutMs: CLIENT_TIMEOUT_MS,
      reconnect: fault.reconnectingClients,
      onStart: (read) => (progress = read),
    }).finally(() => (ended = true));
    const outcome = await this.inject(fault, context, () => progress(), () => ended, dueEvents);
    const report = await verification;
    const crowd = await this.stopCrowd(fault);
    const restarted = [...stack.stack.processes.values()]
      .filter((process) => process.restarts > 0)
      .map((process) => (process.restarts > 1 ? `${process.spec.name} ×${process.restarts}` : process.spec.name));
    const errors = [outcome.error, crowd.error].filter((error) => error !== undefined);
    return {
      ok: report.ok && errors.length === 0,
      failures: [...report.failures, ...errors],
      faultAtMs: outcome.atMs, faultDetail: outcome.detail, recoveryMs: outcome.recoveryMs, report, restarted, crowdClosed: crowd.closed,
    };
  }

  /**
   * Disconnects the crowd: how many of its sockets a gateway closed, an error when that
   * happened although the fault leaves clients connected (as the verification's would
   * have been: a gateway that lost deliveries disconnects everyone) or a worker died.
   */
  private async stopCrowd(fault: Fault): Promise<{ closed?: number; error?: string }> {
    const crowd = this.crowd;
    this.crowd = undefined;
    if (!crowd) return {};
    try {
      const { closedByServer: closed } = await crowd.stop();
      if (closed > 0 && !fault.reconnectingClients) return { closed, error: `${closed} clients of the crowd were disconnected by a gateway` };
      return { closed };
    } catch (error) {
      return { error: `the crowd: ${(error as Error).message}` };
    }
  }

  /** Waits for the first event and then the fault's moment, injects it, and waits for notifications to flow again. */
  private async inject(
    fault: Fault,
    context: RunContext,
    progress: () => LiveProgress,
    ended: () => boolean,
    dueEvents: number,
  ): Promise<FaultOutcome> {
    while (!ended() && progress().eventsSent === 0) await delay(POLL_MS);
    const firstEventAt = performance.now();
    while (!ended() && progress().eventsSent < dueEvents) await delay(POLL_MS);
    if (ended()) return { error: `the run ended before the fault was due (after ${dueEvents} events sent)` };
    // Until the fault says it takes effect (begin), it began now.
    let lastSeqSent = progress().eventsSent;
    let atMs = performance.now() - firstEventAt;
    const begin = (): void => {
      lastSeqSent = progress().eventsSent;
      atMs = performance.now() - firstEventAt;
    };
    let detail: string;
    try {
      detail = await withTimeout(fault.inject({ ...context, begin }), FAULT_TIMEOUT_MS);
    } catch (error) {
      return { atMs, error: `the fault could not be injected: ${(error as Error).message}` };
    }
    const recoveryMs = await watchRecovery(progress, lastSeqSent, performance.now(), ended);
    if (recoveryMs === undefined) {
      // Also when the run passed: then the source had sent everything before the fault, which tested nothing.
      return { atMs, detail, error: `no notification of an event sent after the fault began (after sequence ${lastSeqSent}) arrived before the run ended` };
    }
    return { atMs, detail, recoveryMs };
  }
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not over after ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timedOut]).finally(() => clearTimeout(timer));
}
