import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Keys } from '@follower-maze/shared';
import { LatencyHistogram } from '../../verify/src/latency-histogram.ts';
import type { HeardJoins } from './join-listener.ts';

const LISTENER = fileURLToPath(new URL('./join-listener.ts', import.meta.url));

export interface JoinLatency {
  /** Clients whose join was heard. */
  readonly samples: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Clients that wrote their id line and were never announced. */
  readonly neverAnnounced: number;
}

/**
 * How long a verification client took to become routable: from the moment it wrote its
 * id line to the moment a join naming its user was published on the gateway-events
 * channel, as a subscriber beside the sequencer hears it (in a process of its own, see
 * join-listener.ts). Both moments are read on this machine's clock. The sequencer
 * applies a join as it receives it, so its own event-loop delay (reported beside) is
 * all that can come on top.
 */
export class JoinLatencyProbe {
  /** When each client first wrote its id line, as `performance.timeOrigin + performance.now()`. */
  private readonly sentAtMs = new Map<number, number>();

  private constructor(private readonly listener: ChildProcess) {}

  static async start(redisUrl: string, keys: Keys): Promise<JoinLatencyProbe> {
    // The URL (with the private Redis's password) in the environment: every user of the machine can read a command line.
    const listener = fork(LISTENER, [keys.gatewayEvents], {
      env: { ...process.env, REDIS_URL: redisUrl },
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // A Map travels as it is.
      serialization: 'advanced',
    });
    const probe = new JoinLatencyProbe(listener);
    await probe.next('ready');
    return probe;
  }

  /** A client wrote its id line (`atMs` from performance.now()); a reconnection's later one is not a new join. */
  idLineSent(userId: number, atMs: number): void {
    if (!this.sentAtMs.has(userId)) this.sentAtMs.set(userId, performance.timeOrigin + atMs);
  }

  /** The distribution over the clients so far; the listener exits. */
  async close(): Promise<JoinLatency> {
    const report = this.next<{ heard: HeardJoins }>('report');
    this.listener.send({ kind: 'report' });
    const { heard } = await report;
    const histogram = new LatencyHistogram();
    let maxMs = 0;
    for (const [userId, sentAtMs] of this.sentAtMs) {
      const heardAtMs = heard.get(userId);
      if (heardAtMs === undefined) continue;
      histogram.record(heardAtMs - sentAtMs);
      maxMs = Math.max(maxMs, heardAtMs - sentAtMs);
    }
    return {
      samples: histogram.samples,
      p50Ms: histogram.percentileMs(0.5),
      p90Ms: histogram.percentileMs(0.9),
      p99Ms: histogram.percentileMs(0.99),
      maxMs,
      neverAnnounced: this.sentAtMs.size - histogram.samples,
    };
  }

  /** Stops the listener without a report (a run that failed). */
  kill(): void {
    this.listener.kill('SIGKILL');
  }

  private next<T>(kind: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const onMessage = (message: { kind: string } & T) => {
        if (message.kind !== kind) return;
        this.listener.off('message', onMessage);
        resolve(message);
      };
      this.listener.on('message', onMessage);
      this.listener.once('exit', (code) => reject(new Error(`join listener exited with code ${code} before it was ${kind}`)));
    });
  }
}
