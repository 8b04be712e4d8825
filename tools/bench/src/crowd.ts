import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CrowdWorkerReport } from './crowd-worker.ts';

/** Sockets per worker process, far below the per-process descriptor limit. */
const CLIENTS_PER_WORKER = 5000;
/** Crowd users are numbered from here, clear of the verification's users. */
const FIRST_CROWD_USER = 1_000_001;
const WORKER = fileURLToPath(new URL('./crowd-worker.ts', import.meta.url));

/**
 * Many more online users beside the verification's clients, as people run such
 * gateways: each connects, sends its id and reads whatever it is sent (broadcasts reach
 * them all). Spread over worker processes, each connecting from its own loopback
 * address (127.0.0.2, 127.0.0.3, ...) so that no one address runs out of ephemeral ports.
 */
export class Crowd {
  private readonly workers: ChildProcess[] = [];

  /** Time from the first connection to the last one's id line sent. */
  connectMs = 0;

  private constructor(readonly size: number) {}

  static async connect(size: number, gatewayPorts: readonly number[]): Promise<Crowd> {
    const crowd = new Crowd(size);
    const started = performance.now();
    const ready: Promise<unknown>[] = [];
    for (let first = 0, index = 0; first < size; first += CLIENTS_PER_WORKER, index++) {
      const count = Math.min(CLIENTS_PER_WORKER, size - first);
      const worker = fork(WORKER, [String(FIRST_CROWD_USER + first), String(count), `127.0.0.${2 + index}`, gatewayPorts.join(',')], {
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      crowd.workers.push(worker);
      ready.push(crowd.next(worker, 'connected'));
    }
    await Promise.all(ready);
    crowd.connectMs = performance.now() - started;
    return crowd;
  }

  /** Disconnects everyone; returns what the crowd received and how many the servers closed. */
  async stop(): Promise<CrowdWorkerReport> {
    const reports = await Promise.all(this.workers.map((worker) => {
      const stopped = this.next(worker, 'stopped');
      worker.send({ kind: 'stop' });
      return stopped;
    }));
    return reports.reduce(
      (sum, report) => ({
        connected: sum.connected + report.connected,
        closedByServer: sum.closedByServer + report.closedByServer,
        bytesReceived: sum.bytesReceived + report.bytesReceived,
      }),
      { connected: 0, closedByServer: 0, bytesReceived: 0 },
    );
  }

  kill(): void {
    for (const worker of this.workers) worker.kill('SIGKILL');
  }

  private next(worker: ChildProcess, kind: string): Promise<CrowdWorkerReport> {
    return new Promise((resolve, reject) => {
      const onMessage = (message: { kind: string } & CrowdWorkerReport) => {
        if (message.kind !== kind) return;
        worker.off('message', onMessage);
        resolve(message);
      };
      worker.on('message', onMessage);
      worker.once('exit', (code) => reject(new Error(`crowd worker exited with code ${code} before it was ${kind}`)));
    });
  }
}
