import type { SoakOptions } from './soak-options.ts';
import { SoakRun, type SoakRunResult } from './soak-run.ts';

export interface SoakHooks {
  /** Called before each run, so that Ctrl-C can stop its stack. */
  readonly runStarting?: (run: SoakRun) => void;
  readonly runDone?: (result: SoakRunResult) => void;
}

/**
 * Every run of the soak, fault after fault, each on a fresh stack. A failing run never
 * throws: it is a result like any other, so that the soak goes on and reports them all.
 */
export async function runSoak(options: SoakOptions, logsDir: string, hooks: SoakHooks = {}): Promise<SoakRunResult[]> {
  const results: SoakRunResult[] = [];
  for (const fault of options.faults) {
    for (let run = 1; run <= options.runsPerFault; run++) {
      const soakRun = new SoakRun({ fault, run, seed: options.seed, load: options.load, logsDir });
      hooks.runStarting?.(soakRun);
      const result = await soakRun.run();
      results.push(result);
      hooks.runDone?.(result);
    }
  }
  return results;
}
