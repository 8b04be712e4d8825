import {
  HealthServer, probeHost, remoteReadinessCheck, ServiceMetrics, type Config, type Logger,
} from '@follower-maze/shared';

/** Within the primary's own check timeout (1 s), so that a slow worker shows as itself, not as a timeout. */
const WORKER_PROBE_TIMEOUT_MS = 800;

/**
 * The metrics port of worker `slot` (1 to GATEWAYS) of a gateway run as a cluster: the
 * ports after the primary's. With METRICS_PORT=0 every process picks a free one.
 */
export function workerMetricsPort(primaryPort: number, slot: number): number {
  return primaryPort === 0 ? 0 : primaryPort + slot;
}

/**
 * The cluster primary's endpoints on METRICS_PORT: its own process metrics, and a
 * readiness that is every worker's (one check per worker, asking its /readyz), so that a
 * compose healthcheck or `npm start` asks one port per gateway service.
 */
export async function startPrimaryHealth(config: Config, logger: Logger): Promise<HealthServer> {
  const workers = config.gateway.processes;
  const host = probeHost(config.listenHost);
  const checks = Array.from({ length: workers }, (_, index) => {
    const slot = index + 1;
    const port = workerMetricsPort(config.metricsPort, slot);
    if (port === 0) {
      return { name: `worker ${slot}`, check: () => ({ ok: false, detail: 'its port is unknown with METRICS_PORT=0: ask the worker' }) };
    }
    return remoteReadinessCheck(`worker ${slot}`, host, port, WORKER_PROBE_TIMEOUT_MS);
  });
  const health = await HealthServer.start(config.listenHost, config.metricsPort, new ServiceMetrics(), checks);
  logger.info({ metricsPort: health.port, workers }, 'gateway primary metrics and health endpoints listening');
  return health;
}
