import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CrowdWorkerArrivals, CrowdWorkerConnected, CrowdWorkerProgress, CrowdWorkerReport } from './crowd-worker.ts';

/** Sockets per worker process, far below the per-process descriptor limit. */
const CLIENTS_PER_WORKER = 5000;
/** Connections each worker opens at a time. */
const CONNECTS_IN_FLIGHT = 100;
/** Crowd users are numbered from here, clear of the verification's users. */
const FIRST_CROWD_USER = 1_000_001;
/** Workers connect from 127.0.0.2 on; 127.0.0.254 is the last such address. */
const MAX_WORKERS = 253;
const WORKER = fileURLToPath(new URL('./crowd-worker.ts', import.meta.url));

export interface CrowdOptions {
  /** Default 5,000. */
  readonly clientsPerWorker?: number;
  /** Connections each worker opens at a time. Default 100. */
  readonly connectsInFlight?: number;
}

export interface CrowdConnectReport {
  readonly connected: number;
  /** From the first connection begun to the last id line written, over all workers. */
  readonly firstConnectAtMs: number;
  readonly lastIdLineAtMs: number;
  readonly connectRetries: number;
  /** Open connections per gateway port, in the order of the ports given. */
  readonly perGateway: readonly number[];
}

/** When one round's broadcast reached the crowd's sockets, per gateway port. */
export interface CrowdArrivals extends CrowdWorkerReport {
  /** Per gateway port (in the order given), the arrival time of every socket it reached. */
  readonly arrivalsPerGateway: readonly number[][];
  /** Sockets it did not reach (closed ones included). */
  readonly missing: number;
}

/**
 * Many online users, as people run such gateways: each connects, sends its id and reads
 * whatever it is sent (broadcasts reach them all). Spread over worker processes, each
 * connecting from its own loopback address (127.0.0.2, 127.0.0.3, ...) so that no one
 * address runs out of ephemeral ports. `npm run bench` adds one beside the verification;
 * `npm run bench:scale` times broadcasts to it (`arm`, `waitComplete`, `arrivals`).
 */
export class Crowd {
  private readonly workers: ChildProcess[] = [];
  private readonly latest = new Map<ChildProcess, CrowdWorkerProgress>();
  private portIndexes: Uint8Array[] = [];
  private readonly workerSizes: number[] = [];
  /** The last round each worker said was complete. */
  private readonly completed = new Map<ChildProcess, number>();
  private exited = false;
  private readonly waiters = new Set<() => void>();

  /** Time from the first connection to the last one's id line sent (set by `connect`). */
  connectMs = 0;

  private constructor(
    readonly size: number,
    private readonly gatewayPorts: readonly number[],
  ) {}

  /** Process ids of the workers. */
  get pids(): number[] {
    return this.workers.flatMap(({ pid }) => (pid === undefined ? [] : [pid]));
  }

  /** Starts the worker processes (they connect nobody until `connectAll`). */
  static async start(size: number, gatewayPorts: readonly number[], options: CrowdOptions = {}): Promise<Crowd> {
    const perWorker = options.clientsPerWorker ?? CLIENTS_PER_WORKER;
    const workerCount = Math.ceil(size / perWorker);
    if (workerCount > MAX_WORKERS) throw new Error(`${size} clients at ${perWorker} per worker need ${workerCount} loopback addresses; at most ${MAX_WORKERS}`);
    const crowd = new Crowd(size, gatewayPorts);
    const ready: Promise<unknown>[] = [];
    for (let first = 0, index = 0; first < size; first += perWorker, index++) {
      const count = Math.min(perWorker, size - first);
      const worker = fork(WORKER, [
        String(FIRST_CROWD_USER + first), String(count), `127.0.0.${2 + index}`, gatewayPorts.join(','),
        String(options.connectsInFlight ?? CONNECTS_IN_FLIGHT),
      ], {
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        serialization: 'advanced',
      });
      crowd.workers.push(worker);
      crowd.workerSizes.push(count);
      worker.on('message', (message: { kind: string; seq?: number } & CrowdWorkerProgress) => {
        if (message.kind === 'progress') crowd.latest.set(worker, message);
        if (message.kind === 'complete') crowd.completed.set(worker, message.seq!);
        if (message.kind === 'complete') crowd.notify();
      });
      worker.once('exit', () => {
        crowd.exited = true;
        crowd.notify();
      });
      ready.push(crowd.next(worker, 'ready'));
    }
    try {
      await Promise.all(ready);
    } catch (error) {
      crowd.kill();
      throw error;
    }
    return crowd;
  }

  /** Starts the workers and connects everyone; `connectMs` then says how long the connecting took. */
  static async connect(size: number, gatewayPorts: readonly number[], options: CrowdOptions = {}): Promise<Crowd> {
    const crowd = await Crowd.start(size, gatewayPorts, options);
    const report = await crowd.connectAll();
    crowd.connectMs = report.lastIdLineAtMs - report.firstConnectAtMs;
    return crowd;
  }

  /**
   * Every worker connects its share; resolves when every id line is written. With
   * `upTo`, only that many clients of the whole crowd are begun until `allow` lets more go.
   */
  async connectAll(upTo?: number): Promise<CrowdConnectReport> {
    const reports = await Promise.all(this.workers.map((worker, index) => {
      const connected = this.next<CrowdWorkerConnected>(worker, 'connected');
      worker.send({ kind: 'connect', ...(upTo !== undefined && { upTo: this.shareOf(index, upTo) }) });
      return connected;
    }));
    this.portIndexes = reports.map(({ portIndex }) => portIndex);
    const perGateway = this.gatewayPorts.map(() => 0);
    for (const portIndex of this.portIndexes) for (const index of portIndex) perGateway[index]!++;
    return {
      connected: reports.reduce((sum, { connected }) => sum + connected, 0),
      firstConnectAtMs: Math.min(...reports.map(({ firstConnectAtMs }) => firstConnectAtMs)),
      lastIdLineAtMs: Math.max(...reports.map(({ lastIdLineAtMs }) => lastIdLineAtMs)),
      connectRetries: reports.reduce((sum, { connectRetries }) => sum + connectRetries, 0),
      perGateway,
    };
  }

  /** Lets up to `upTo` clients of the whole crowd be begun, each worker its proportional share. */
  allow(upTo: number): void {
    this.workers.forEach((worker, index) => worker.send({ kind: 'allow', upTo: this.shareOf(index, upTo) }));
  }

  private shareOf(index: number, upTo: number): number {
    return Math.ceil((upTo * this.workerSizes[index]!) / this.size);
  }

  /** The workers' latest progress reports, added up (they report every 250 ms). */
  progress(): CrowdWorkerProgress {
    let idLinesSent = 0;
    let reached = 0;
    let closedByServer = 0;
    for (const progress of this.latest.values()) {
      idLinesSent += progress.idLinesSent;
      reached += progress.reached;
      closedByServer += progress.closedByServer;
    }
    return { idLinesSent, reached, closedByServer };
  }

  /** From now on each socket notes when broadcast `seq` first reaches it; resolves once every worker listens. */
  async arm(seq: number): Promise<void> {
    await Promise.all(this.workers.map((worker) => {
      const armed = this.next(worker, 'armed');
      worker.send({ kind: 'arm', seq });
      return armed;
    }));
    // Only now: a worker's progress sent before it was armed arrives before its answer.
    this.latest.clear();
  }

  /** True once broadcast `seq` has reached every socket that is still open; false after `timeoutMs` or when a worker died. */
  waitComplete(seq: number, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const finish = (complete: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(complete);
      };
      const check = () => {
        if (this.exited) finish(false);
        else if (this.workers.every((worker) => this.completed.get(worker) === seq)) finish(true);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  private notify(): void {
    for (const check of [...this.waiters]) check();
  }

  /** When the armed broadcast reached each socket, per gateway port. */
  async arrivals(): Promise<CrowdArrivals> {
    const answers = await Promise.all(this.workers.map((worker) => {
      const answer = this.next<CrowdWorkerArrivals>(worker, 'arrivals');
      worker.send({ kind: 'arrivals' });
      return answer;
    }));
    const arrivalsPerGateway: number[][] = this.gatewayPorts.map(() => []);
    let missing = 0;
    answers.forEach(({ atMs }, worker) => {
      const portIndex = this.portIndexes[worker]!;
      atMs.forEach((at, socket) => {
        if (at === 0) missing++;
        else arrivalsPerGateway[portIndex[socket]!]!.push(at);
      });
    });
    return { ...sumReports(answers), arrivalsPerGateway, missing };
  }

  /** Disconnects everyone; returns what the crowd received and how many the servers closed. */
  async stop(): Promise<CrowdWorkerReport> {
    const reports = await Promise.all(this.workers.map((worker) => {
      const stopped = this.next<CrowdWorkerReport>(worker, 'stopped');
      worker.send({ kind: 'stop' });
      return stopped;
    }));
    return sumReports(reports);
  }

  kill(): void {
    for (const worker of this.workers) worker.kill('SIGKILL');
  }

  /** The worker's next message of that kind (and passing `accept`); rejects if the worker exits first. */
  private next<T = unknown>(worker: ChildProcess, kind: string, accept: (message: T) => boolean = () => true): Promise<T> {
    return new Promise((resolve, reject) => {
      const onMessage = (message: { kind: string } & T) => {
        if (message.kind !== kind || !accept(message)) return;
        worker.off('message', onMessage);
        worker.off('exit', onExit);
        resolve(message);
      };
      const onExit = (code: number | null) => {
        worker.off('message', onMessage);
        reject(new Error(`crowd worker exited with code ${code} before it was ${kind}`));
      };
      worker.on('message', onMessage);
      worker.once('exit', onExit);
    });
  }
}

function sumReports(reports: readonly CrowdWorkerReport[]): CrowdWorkerReport {
  const sum = { connected: 0, closedByServer: 0, bytesReceived: 0, badLines: 0, outOfOrder: 0, unexpected: 0 };
  for (const report of reports) {
    for (const key of Object.keys(sum) as (keyof CrowdWorkerReport)[]) sum[key] += report[key];
  }
  return sum;
}
