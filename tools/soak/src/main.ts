import { relative } from 'node:path';
import { formatCount, formatFailure, formatRunLine, formatSummaryTable } from './report.ts';
import { descriptorLimit } from '../../stack/src/descriptor-limit.ts';
import { REPO_ROOT, runLogDir, stopOnInterrupt } from '../../stack/src/long-run.ts';
import { runSoak } from './soak.ts';
import { soakOptionsFromEnv, type SoakOptions } from './soak-options.ts';
import type { SoakRun } from './soak-run.ts';

/**
 * `npm run soak`: the same faults again and again, each run on a fresh stack with one
 * fault at a random moment of a verification run, to find what fails only sometimes.
 * Exit code 0 when every run passed, 1 otherwise, 2 for bad settings.
 */

let options: SoakOptions;
try {
  options = soakOptionsFromEnv(process.env, descriptorLimit());
} catch (error) {
  console.error(`configuration error: ${(error as Error).message}`);
  process.exit(2);
}

const logsDir = runLogDir('.soak');
let current: SoakRun | undefined;
stopOnInterrupt('stopping the stack', async () => {
  await current?.stop();
});

const { load } = options;
console.log(
  `soak: ${options.faults.join(', ')}; ${options.runsPerFault} run${options.runsPerFault === 1 ? '' : 's'} each of ${formatCount(load.events)} events ` +
    `${load.eventsPerSecond === undefined ? 'at full speed' : `at ${formatCount(load.eventsPerSecond)}/s`} to ${formatCount(load.clients)} clients ` +
    `(${formatCount(load.users)} users) over ${load.gateways} gateways${load.crowd > 0 ? `, ${formatCount(load.crowd)} more online (the crowd)` : ''}, ` +
    `each on a fresh stack with one fault at a random moment\n` +
    `recovery: from the end of the fault to the first notification of an event sent after it began\n` +
    `seed ${options.seed} (SOAK_SEED=${options.seed} draws the same runs again)\n`,
);
const results = await runSoak(options, logsDir, {
  runStarting: (run) => (current = run),
  runDone: (result) => {
    current = undefined;
    console.log(formatRunLine(result, options.runsPerFault));
    if (!result.ok) console.log(formatFailure(result, REPO_ROOT));
  },
});
console.log(`\n${formatSummaryTable(results, options.faults)}`);
const failed = results.filter(({ ok }) => !ok).length;
if (failed > 0) {
  console.error(`\nSOAK FAILED: ${failed} of ${results.length} runs; services' logs of the failed runs in ${relative(REPO_ROOT, logsDir)}`);
  process.exitCode = 1;
} else {
  console.log(`\nALL ${results.length} RUNS PASSED`);
}
