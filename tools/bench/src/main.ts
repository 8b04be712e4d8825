import { join, relative } from 'node:path';
import { createLogger } from '@follower-maze/shared';
import { benchOptionsFromEnv, type BenchOptions } from './bench-options.ts';
import { BenchRun, type BenchResult } from './bench-run.ts';
import { formatCount, formatRun, formatSummaryTable, redisShapeName } from './report.ts';
import { REPO_ROOT, runLogDir, stopOnInterrupt } from '../../stack/src/long-run.ts';

/**
 * `npm run bench`: one fresh stack per run size, the standard verification against
 * it, and the figures a closing note needs (throughput, latency, memory, Redis load,
 * optionally a CPU profile). Exit code 0 when every run passed, 1 otherwise, 2 for bad settings.
 */

let options: BenchOptions;
try {
  options = benchOptionsFromEnv(process.env);
} catch (error) {
  console.error(`configuration error: ${(error as Error).message}`);
  process.exit(2);
}

// Only the stack's warnings (a service died and was restarted, say) reach the terminal.
const logger = createLogger('bench', 'warn');
const benchDir = runLogDir('.bench');
let current: BenchRun | undefined;
let interrupted = false;
stopOnInterrupt('stopping the stack', async () => {
  interrupted = true;
  await current?.cleanup();
});

console.log(
  `benchmark: ${options.runSizes.map(formatCount).join(' and ')} events, ${formatCount(options.clients)} clients, ` +
    `${options.gatewayCounts.join(' and ')} gateway processes, on ${options.redisShapes.map((masters) => redisShapeName(masters, options.clusterReplicas)).join(' and ')}` +
    `${options.profile ? `, CPU profile of ${options.profile}` : ''}; logs in ${relative(REPO_ROOT, benchDir)}`,
);
const results: BenchResult[] = [];
try {
  for (const clusterMasters of options.redisShapes) {
    for (const gateways of options.gatewayCounts) {
      for (const events of options.runSizes) {
        const runDir = join(benchDir, `${events}-events-${gateways}-gateways${clusterMasters ? `-cluster-${clusterMasters}` : ''}`);
        current = new BenchRun(events, { ...options, gateways, clusterMasters }, runDir, logger);
        console.log(`\nrun of ${formatCount(events)} events, ${gateways} gateway processes, ${current.redisShape}: starting a fresh stack`);
        const result = await current.run();
        current = undefined;
        results.push(result);
        console.log(formatRun(result, REPO_ROOT));
      }
    }
  }
  console.log(`\n${formatSummaryTable(results)}`);
  process.exitCode = results.every(({ report }) => report.ok) ? 0 : 1;
} catch (error) {
  // The stack could not be started or queried (or was stopped by Ctrl-C): the run has been cleaned up.
  if (!interrupted) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`benchmark aborted: ${message} (service logs in ${relative(REPO_ROOT, benchDir)})`);
  }
  process.exitCode = 1;
}
