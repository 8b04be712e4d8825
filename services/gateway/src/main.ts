import cluster from 'node:cluster';
import { createLogger, loadConfig, runService } from '@follower-maze/shared';
import { startGatewayService } from './gateway-service.ts';
import { startPrimaryHealth } from './primary-health.ts';
import { superviseWorkers } from './worker-supervisor.ts';

const config = (() => {
  try {
    return loadConfig();
  } catch {
    return undefined; // runService reports the configuration error.
  }
})();

if (config && config.gateway.processes > 1 && cluster.isPrimary) {
  const logger = createLogger('gateway-primary', config.logLevel);
  superviseWorkers(config, logger);
  await startPrimaryHealth(config, logger);
} else {
  await runService('gateway', startGatewayService);
}
