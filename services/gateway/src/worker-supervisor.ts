import cluster from 'node:cluster';
import type { Logger } from '@follower-maze/shared';

/** Restart delay after a worker dies, doubled per quick death up to the maximum. */
const FIRST_RESTART_DELAY_MS = 250;
const MAX_RESTART_DELAY_MS = 10_000;
/** A worker that lived this long is healthy again: its next restart starts from the first delay. */
const HEALTHY_AFTER_MS = 30_000;

/**
 * Runs `count` gateway processes behind the one client port with Node's cluster module:
 * the primary accepts connections and hands them to the workers round-robin. A worker
 * that dies is started again with a back-off; SIGINT/SIGTERM stop them all.
 */
export function superviseWorkers(count: number, logger: Logger): void {
  let stopping = false;
  let restartDelayMs = FIRST_RESTART_DELAY_MS;
  const startedAt = new Map<number, number>();
  const fork = () => {
    const worker = cluster.fork();
    startedAt.set(worker.id, Date.now());
  };
  cluster.on('exit', (worker, code, signal) => {
    const livedMs = Date.now() - (startedAt.get(worker.id) ?? 0);
    startedAt.delete(worker.id);
    if (stopping) return;
    restartDelayMs = livedMs > HEALTHY_AFTER_MS ? FIRST_RESTART_DELAY_MS : Math.min(restartDelayMs * 2, MAX_RESTART_DELAY_MS);
    logger.warn({ pid: worker.process.pid, code, signal, restartInMs: restartDelayMs }, 'gateway worker died; restarting');
    setTimeout(fork, restartDelayMs);
  });
  for (let i = 0; i < count; i++) fork();
  logger.info({ workers: count }, 'gateway workers started');
  const stop = () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
