import envVar from 'env-var';
import type { ServiceName } from '../../stack/src/stack.ts';

export interface ScaleOptions {
  /** Runs, each on a fresh stack. Default 1. */
  readonly runs: number;
  /** Crowd clients, all idle readers. Default 100,000. */
  readonly clients: number;
  /** Gateway processes, each on a port of its own. Default 7. */
  readonly gateways: number;
  /** Broadcasts sent one after the other, each timed to every client. Default 3. */
  readonly broadcasts: number;
  /** Quiet time before each memory sample and between broadcasts (ms). Default 2,000. */
  readonly settleMs: number;
  /** How long connecting everyone (until routable), and each broadcast, may take before the run fails (ms). Default 120,000. */
  readonly timeoutMs: number;
  /**
   * Clients per crowd process, each on a loopback address of its own. Default 10,000 (half
   * the descriptor limit here): 10 processes instead of 20 left more of the two cores to the
   * kernel's loopback work and the stack (connect rate 7,200 instead of 3,700 – 4,700 per
   * second, broadcasts 1.3 – 2.1 s instead of 2.2 – 4.9 s, far fewer dropped packets).
   */
  readonly clientsPerWorker: number;
  /** Connections each crowd process opens at a time. Default 100. */
  readonly connectsInFlight: number;
  /**
   * Clients connected but not yet routable that the crowd allows itself, over all its
   * processes; 0 lets every process connect as fast as it can. Default 2,000.
   */
  readonly connectWindow: number;
  /** Service to run under `--cpu-prof` (BENCH_PROFILE, as `npm run bench`). */
  readonly profile: ServiceName | undefined;
}

const PROFILED_SERVICES: readonly ServiceName[] = ['ingest', 'sequencer', 'gateway'];

/** BENCH_SCALE_* and BENCH_PROFILE; throws a message naming the variable and a valid example. */
export function scaleOptionsFromEnv(env: NodeJS.ProcessEnv): ScaleOptions {
  const vars = envVar.from(env);
  const atLeastOne = (name: string, fallback: string, example: string): number => {
    const value = vars.get(name).default(fallback).example(example).asIntPositive();
    if (value < 1) throw new Error(`${name}=${value}: at least 1 is needed, e.g. ${name}=${example}`);
    return value;
  };
  return {
    runs: atLeastOne('BENCH_SCALE_RUNS', '1', '2'),
    clients: atLeastOne('BENCH_SCALE_CLIENTS', '100000', '2000'),
    gateways: atLeastOne('BENCH_SCALE_GATEWAYS', '7', '6'),
    broadcasts: atLeastOne('BENCH_SCALE_BROADCASTS', '3', '1'),
    settleMs: vars.get('BENCH_SCALE_SETTLE_MS').default('2000').example('5000').asIntPositive(),
    timeoutMs: atLeastOne('BENCH_SCALE_TIMEOUT_MS', '120000', '300000'),
    clientsPerWorker: atLeastOne('BENCH_SCALE_CLIENTS_PER_WORKER', '10000', '5000'),
    connectsInFlight: atLeastOne('BENCH_SCALE_CONNECTS_IN_FLIGHT', '100', '200'),
    connectWindow: vars.get('BENCH_SCALE_CONNECT_WINDOW').default('2000').example('5000').asIntPositive(),
    profile: vars.get('BENCH_PROFILE').example('gateway').asEnum(PROFILED_SERVICES),
  };
}
