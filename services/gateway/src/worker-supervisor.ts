import cluster from 'node:cluster';
import { RestartBackoff, type Config, type Logger } from '@follower-maze/shared';
import { workerMetricsPort } from './primary-health.ts';

/**
 * Runs GATEWAYS gateway processes behind the one client port with Node's cluster
 * module: the primary accepts connections and hands them to the workers round-robin. A
 * worker that dies is started again with a back-off, in its slot (1 to GATEWAYS), which
 * gives it its metrics port; SIGINT/SIGTERM stop them all.
 */
export function superviseWorkers(config: Config, logger: Logger): void {
  const count = config.gateway.processes;
  let stopping = false;
  const backoff = new RestartBackoff();
  const startedAt = new Map<number, number>();
  const slots = new Map<number, number>();
  const fork = (slot: number) => {
    if (stopping) return;
    const worker = cluster.fork({ METRICS_PORT: String(workerMetricsPort(config.metricsPort, slot)) });
    startedAt.set(worker.id, Date.now());
    slots.set(worker.id, slot);
  };
  cluster.on('exit', (worker, code, signal) => {
    const livedMs = Date.now() - (startedAt.get(worker.id) ?? 0);
    const slot = slots.get(worker.id)!;
    startedAt.delete(worker.id);
    slots.delete(worker.id);
    if (stopping) return;
    const restartInMs = backoff.next(livedMs);
    logger.warn({ pid: worker.process.pid, code, signal, restartInMs }, 'gateway worker died; restarting');
    setTimeout(() => fork(slot), restartInMs);
  });
  for (let slot = 1; slot <= count; slot++) fork(slot);
  logger.info({ workers: count }, 'gateway workers started');
  const stop = () => {
    if (stopping) return;
    stopping = true;
    const workers = Object.values(cluster.workers ?? {}).filter((worker) => worker !== undefined);
    let running = workers.length;
    if (running === 0) process.exit(0);
    for (const worker of workers) {
      worker.once('exit', () => {
        if (--running === 0) process.exit(0);
      });
      worker.process.kill('SIGTERM');
    }
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  if (process.channel) process.on('disconnect', stop);
}
