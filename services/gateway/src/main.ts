import cluster from 'node:cluster';
import { createLogger, loadConfig, runService } from '@follower-maze/shared';
import { startGatewayService } from './gateway-service.ts';
import { startPrimaryHealth } from './primary-health.ts';
import { superviseWorkers } from './worker-supervisor.ts';

const processes = (() => {
  try {
    return loadConfig().gateway.processes;
  } catch {
    return 1; // runService reports the configuration error.
  }
})();

if (processes > 1 && cluster.isPrimary) {
  const config = loadConfig();
  const logger = createLogger('gateway-primary', config.logLevel);
  superviseWorkers(config, logger);
  await startPrimaryHealth(config, processes, logger);
} else {
  await runService('gateway', startGatewayService);
}
