import envVar from 'env-var';
import type { ServiceName } from '../../stack/src/stack.ts';

export interface BenchOptions {
  /** Events of each run, in order; each run gets a fresh stack. */
  readonly runSizes: readonly number[];
  /** Gateway processes, one per client port, clients spread over them; each count is run with every size. */
  readonly gatewayCounts: readonly number[];
  /** Service to run under `--cpu-prof`, if any. */
  readonly profile: ServiceName | undefined;
  /** Online users beside the verification's clients (a crowd that only reads). Default 0. */
  readonly extraUsers: number;
  /** The verification's clients (the checker's concurrencyLevel), all connecting at once; the checker's default 100. */
  readonly clients: number;
  /** What each run's Redis is: 0 one redis-server, N a private cluster of N masters; each is run with every size. Default [0]. */
  readonly redisShapes: readonly number[];
  /** Replicas of each cluster master (with REDIS_WAIT_REPLICAS in the environment, the cost of WAIT). Default 0. */
  readonly clusterReplicas: number;
}

const PROFILED_SERVICES: readonly ServiceName[] = ['ingest', 'sequencer', 'gateway'];

/** What one run is given: a single gateway count. */
export type RunOptions = Omit<BenchOptions, 'gatewayCounts' | 'runSizes' | 'redisShapes'> & {
  readonly gateways: number;
  /** 0: one redis-server; N: a cluster of N masters. */
  readonly clusterMasters: number;
};

/** A Redis Cluster needs at least three masters. */
const MIN_CLUSTER_MASTERS = 3;

/**
 * BENCH_EVENTS, BENCH_GATEWAYS and BENCH_REDIS_CLUSTER (comma lists), BENCH_REDIS_REPLICAS, BENCH_PROFILE,
 * BENCH_EXTRA_USERS, BENCH_CLIENTS; throws a message naming the variable.
 */
export function benchOptionsFromEnv(env: NodeJS.ProcessEnv): BenchOptions {
  const vars = envVar.from(env);
  return {
    runSizes: positiveIntegers(env, 'BENCH_EVENTS', '1000000,10000000'),
    gatewayCounts: positiveIntegers(env, 'BENCH_GATEWAYS', '2', '1,2,4'),
    profile: vars.get('BENCH_PROFILE').example('sequencer').asEnum(PROFILED_SERVICES),
    extraUsers: vars.get('BENCH_EXTRA_USERS').default('0').example('40000').asIntPositive(),
    clients: clientsFrom(vars.get('BENCH_CLIENTS').default('100').example('10000').asIntPositive()),
    redisShapes: redisShapesFrom(env),
    clusterReplicas: vars.get('BENCH_REDIS_REPLICAS').default('0').example('1').asIntPositive(),
  };
}

/** 0 (one redis-server) or a master count of at least 3, e.g. `0,3` for both side by side. */
function redisShapesFrom(env: NodeJS.ProcessEnv): number[] {
  const shapes = envVar.from(env).get('BENCH_REDIS_CLUSTER').default('0').example('0,3').asArray(',').map((count) => Number(count.trim()));
  if (shapes.length === 0 || shapes.some((count) => !Number.isSafeInteger(count) || (count !== 0 && count < MIN_CLUSTER_MASTERS))) {
    throw new Error(`BENCH_REDIS_CLUSTER=${JSON.stringify(env['BENCH_REDIS_CLUSTER'])}: expected 0 (one Redis) or master counts of at least ${MIN_CLUSTER_MASTERS}, e.g. BENCH_REDIS_CLUSTER=0,3`);
  }
  return shapes;
}

/** env-var's asIntPositive lets 0 through, and a run needs clients to check. */
function clientsFrom(count: number): number {
  if (count < 1) throw new Error(`BENCH_CLIENTS=${count}: at least one client is needed, e.g. BENCH_CLIENTS=10000`);
  return count;
}

/** A comma list of counts of at least 1 (a stack without gateways cannot be verified). */
function positiveIntegers(env: NodeJS.ProcessEnv, name: string, fallback: string, example = fallback): number[] {
  const counts = envVar.from(env).get(name).default(fallback).example(example).asArray(',').map((count) => Number(count.trim()));
  if (counts.length === 0 || counts.some((count) => !Number.isSafeInteger(count) || count < 1)) {
    throw new Error(`${name}=${JSON.stringify(env[name])}: expected positive integers, e.g. ${name}=${example}`);
  }
  return counts;
}
