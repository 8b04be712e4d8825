import { randomInt } from 'node:crypto';
import envVar from 'env-var';
import { FAULT_NAMES, type FaultName } from './faults.ts';

export interface SoakOptions {
  /** Faults in the order they are soaked. */
  readonly faults: readonly FaultName[];
  readonly runsPerFault: number;
  /** Every random choice of the soak derives from it. */
  readonly seed: number;
  /** Events of each verification run. */
  readonly events: number;
  /** The source's cap, so that a run lasts long enough for the fault to land inside it. */
  readonly eventsPerSecond: number;
}

const MAX_SEED = 0xffff_ffff;

/**
 * SOAK_RUNS_PER_FAULT, SOAK_SEED, SOAK_FAULTS (comma list), SOAK_EVENTS,
 * SOAK_EVENTS_PER_SECOND; throws a message naming the variable and a valid example.
 * Defaults: 10 runs of every fault, 300,000 events at 50,000/s (about 6 s of events),
 * a fresh seed.
 */
export function soakOptionsFromEnv(env: NodeJS.ProcessEnv): SoakOptions {
  const vars = envVar.from(env);
  return {
    faults: faultsFrom(env['SOAK_FAULTS']),
    runsPerFault: atLeastOne('SOAK_RUNS_PER_FAULT', vars.get('SOAK_RUNS_PER_FAULT').default('10').example('10').asIntPositive(), '10'),
    seed: seedFrom(env['SOAK_SEED']),
    events: atLeastOne('SOAK_EVENTS', vars.get('SOAK_EVENTS').default('300000').example('300000').asIntPositive(), '300000'),
    eventsPerSecond: atLeastOne(
      'SOAK_EVENTS_PER_SECOND',
      vars.get('SOAK_EVENTS_PER_SECOND').default('50000').example('50000').asIntPositive(),
      '50000',
    ),
  };
}

function faultsFrom(raw: string | undefined): FaultName[] {
  if (raw === undefined || raw.trim() === '') return [...FAULT_NAMES];
  const names = raw.split(',').map((name) => name.trim());
  const unknown = names.filter((name) => !(FAULT_NAMES as readonly string[]).includes(name));
  if (unknown.length > 0 || new Set(names).size !== names.length) {
    throw new Error(
      `SOAK_FAULTS=${JSON.stringify(raw)}: expected distinct names among ${FAULT_NAMES.join(', ')}, ` +
        `e.g. SOAK_FAULTS=redis-restart,sequencer-kill`,
    );
  }
  return names as FaultName[];
}

function seedFrom(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return randomInt(MAX_SEED);
  const seed = Number(raw.trim());
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > MAX_SEED) {
    throw new Error(`SOAK_SEED=${JSON.stringify(raw)}: expected an integer from 0 to ${MAX_SEED}, e.g. SOAK_SEED=12345`);
  }
  return seed;
}

/** env-var's asIntPositive lets 0 through. */
function atLeastOne(name: string, value: number, example: string): number {
  if (value < 1) throw new Error(`${name}=${value}: expected at least 1, e.g. ${name}=${example}`);
  return value;
}
