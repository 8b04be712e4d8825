import cluster from 'node:cluster';
import { createLogger, loadConfig, runService } from '@follower-maze/shared';
import { startGatewayService } from './gateway-service.ts';
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
  superviseWorkers(config, createLogger('gateway-primary', config.logLevel));
} else {
  await runService('gateway', startGatewayService);
}
