import { join, relative } from 'node:path';
import { createLogger, loadConfig } from '@follower-maze/shared';
import { formatCount } from './report.ts';
import { descriptorLimit } from '../../stack/src/descriptor-limit.ts';
import { REPO_ROOT, runLogDir, stopOnInterrupt } from '../../stack/src/long-run.ts';
import { gatewayMaxClients } from './scale-figures.ts';
import { scaleOptionsFromEnv, type ScaleOptions } from './scale-options.ts';
import { formatScaleRun, formatScaleTable } from './scale-report.ts';
import { ScaleRun, type ScaleResult } from './scale-run.ts';

/**
 * `npm run bench:scale`: many idle clients over several gateway processes on a fresh
 * stack; memory per idle connection, connect rate and broadcast-to-all time (see
 * scale-run.ts). Exit code 0 when every run passed, 1 otherwise, 2 for bad settings.
 */

let options: ScaleOptions;
let maxClients: number;
try {
  options = scaleOptionsFromEnv(process.env);
  maxClients = gatewayMaxClients(options.clients, options.gateways, loadConfig({}, []).gateway.maxClients, descriptorLimit(), 'BENCH_SCALE_GATEWAYS');
} catch (error) {
  console.error(`configuration error: ${(error as Error).message}`);
  process.exit(2);
}

const logger = createLogger('bench-scale', 'warn');
const benchDir = runLogDir('.bench', 'scale-');
let current: ScaleRun | undefined;
stopOnInterrupt('stopping the crowd and the stack', async () => {
  await current?.cleanup();
});

console.log(
  `scale benchmark: ${formatCount(options.clients)} clients over ${options.gateways} gateway processes, ` +
    `${options.broadcasts} broadcasts, ${options.runs} run(s)${options.profile ? `, CPU profile of ${options.profile}` : ''}; ` +
    `logs in ${relative(REPO_ROOT, benchDir)}`,
);
const results: ScaleResult[] = [];
for (let run = 1; run <= options.runs; run++) {
  console.log(`\nrun ${run} of ${options.runs}: starting a fresh stack`);
  current = new ScaleRun(options, maxClients, join(benchDir, `run-${run}`), logger);
  const result = await current.run();
  current = undefined;
  results.push(result);
  console.log(formatScaleRun(result, REPO_ROOT));
}
console.log(`\n${formatScaleTable(results)}`);
process.exitCode = results.every(({ failures }) => failures.length === 0) ? 0 : 1;
