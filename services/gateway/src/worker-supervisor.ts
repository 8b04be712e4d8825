import cluster from 'node:cluster';
import { RestartBackoff, type Config, type Logger } from '@follower-maze/shared';
import { workerMetricsPort } from './primary-health.ts';

/**
 * Runs GATEWAYS gateway processes behind the one client port with Node's cluster
 * module. The workers share the listening socket and accept from it themselves
 * (SCHED_NONE): the kernel spreads connections less evenly than the primary's
 * round-robin would (55/45 to 59/41 over two workers in the reconnect-storm test), but a
 * worker that dies takes only connections it accepted, closed by the kernel, so their
 * clients reconnect. The round-robin primary keeps open, unserved, for ever a connection
 * it handed to a worker that died before confirming it. A
 * worker that dies is started again with a back-off, in its slot (1 to GATEWAYS), which
 * gives it its metrics port; SIGINT/SIGTERM stop them all.
 */
export function superviseWorkers(config: Config, logger: Logger): void {
  // Before the first fork: the policy is fixed then.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
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
