import envVar from 'env-var';
import type { ServiceName } from '../../stack/src/stack.ts';

export interface BenchOptions {
  /** Events of each run, in order; each run gets a fresh stack. */
  readonly runSizes: readonly number[];
  /** Gateway processes, one per client port; clients are spread over them. */
  readonly gateways: number;
  /** Service to run under `--cpu-prof`, if any. */
  readonly profile: ServiceName | undefined;
  /** Online users beside the verification's clients (a crowd that only reads). Default 0. */
  readonly extraUsers: number;
  /** The verification's clients (the checker's concurrencyLevel), all connecting at once; the checker's default 100. */
  readonly clients: number;
}

const PROFILED_SERVICES: readonly ServiceName[] = ['ingest', 'sequencer', 'gateway'];

/** BENCH_EVENTS (comma list), BENCH_GATEWAYS, BENCH_PROFILE, BENCH_EXTRA_USERS, BENCH_CLIENTS; throws a message naming the variable. */
export function benchOptionsFromEnv(env: NodeJS.ProcessEnv): BenchOptions {
  const vars = envVar.from(env);
  const sizes = vars.get('BENCH_EVENTS').default('1000000,10000000').example('1000000,10000000').asArray(',');
  const runSizes = sizes.map((size) => Number(size.trim()));
  if (runSizes.length === 0 || runSizes.some((size) => !Number.isSafeInteger(size) || size < 1)) {
    throw new Error(`BENCH_EVENTS=${JSON.stringify(env['BENCH_EVENTS'])}: expected positive integers, e.g. BENCH_EVENTS=1000000,10000000`);
  }
  return {
    runSizes,
    gateways: gatewaysFrom(vars.get('BENCH_GATEWAYS').default('2').example('2').asIntPositive()),
    profile: vars.get('BENCH_PROFILE').example('sequencer').asEnum(PROFILED_SERVICES),
    extraUsers: vars.get('BENCH_EXTRA_USERS').default('0').example('40000').asIntPositive(),
    clients: clientsFrom(vars.get('BENCH_CLIENTS').default('100').example('10000').asIntPositive()),
  };
}

/** env-var's asIntPositive lets 0 through, and a run needs clients to check. */
function clientsFrom(count: number): number {
  if (count < 1) throw new Error(`BENCH_CLIENTS=${count}: at least one client is needed, e.g. BENCH_CLIENTS=10000`);
  return count;
}

/** env-var's asIntPositive lets 0 through, and a stack without gateways cannot be verified. */
function gatewaysFrom(count: number): number {
  if (count < 1) throw new Error(`BENCH_GATEWAYS=${count}: at least one gateway is needed, e.g. BENCH_GATEWAYS=2`);
  return count;
}
