import { SeededRandom } from '../../verify/src/seeded-random.ts';

/**
 * The random choices of one run (its verification seed, the fault's moment, which
 * gateway dies) from the soak's seed, the fault and the run's number, not from the runs
 * before it: `SOAK_SEED=s SOAK_FAULTS=f` replays run i of fault f exactly as the full
 * soak with seed s drew it, timing of the machine aside.
 */
export function randomForRun(seed: number, fault: string, run: number): SeededRandom {
  // FNV-1a over the run's name, started from the seed.
  let hash = (seed ^ 0x811c_9dc5) >>> 0;
  for (const char of `${fault}#${run}`) hash = Math.imul(hash ^ char.charCodeAt(0), 0x0100_0193) >>> 0;
  return new SeededRandom(hash);
}
