import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import envVar from 'env-var';

/** The private redis-server's password, in its data directory (owner only). */
const PASSWORD_FILE = 'redis-password';
/** Random bytes of a generated password; base64url, so that it needs no escaping in a URL or Redis's configuration. */
const PASSWORD_BYTES = 24;

/**
 * Where `npm start` finds Redis: REDIS_URL when set, otherwise the private
 * redis-server it starts on STACK_REDIS_PORT (default 6390), with its append-only file
 * and password in STACK_DATA_DIR (default ./data). The operator commands use the same
 * rule, so that `npm run ops` talks to the stack that `npm start` runs.
 */
export function stackRedisPort(env: NodeJS.ProcessEnv = process.env): number {
  return envVar.from(env).get('STACK_REDIS_PORT').default('6390').example('6390').asPortNumber();
}

export function stackDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return envVar.from(env).get('STACK_DATA_DIR').default('./data').example('./data').asString();
}

/** Fewer masters than `redis-cli --cluster create` accepts. */
const MIN_CLUSTER_MASTERS = 3;
/** The private cluster's nodes keep their files here, in STACK_DATA_DIR. */
const CLUSTER_DIR = 'cluster';

/**
 * REDIS_CLUSTER=N: `npm start` starts a private Redis Cluster of N masters instead of one
 * redis-server, on STACK_REDIS_PORT and the N - 1 ports after it, with the same generated
 * password and its nodes' files in STACK_DATA_DIR/cluster. Undefined: one Redis. Refused
 * with REDIS_URL or REDIS_CLUSTER_NODES, which name a Redis that is already there.
 */
export function stackClusterMasters(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const masters = envVar.from(env).get('REDIS_CLUSTER').example('3').asIntPositive();
  if (masters === undefined) return undefined;
  if (masters < MIN_CLUSTER_MASTERS) throw new Error(`REDIS_CLUSTER must be ${MIN_CLUSTER_MASTERS} or more: a Redis Cluster has at least ${MIN_CLUSTER_MASTERS} masters`);
  const given = ['REDIS_URL', 'REDIS_CLUSTER_NODES'].find((name) => env[name]);
  if (given) throw new Error(`REDIS_CLUSTER starts a private cluster, but ${given} names a Redis to use: set only one of them`);
  return masters;
}

/** Ports of the private cluster's nodes. */
export function stackClusterPorts(masters: number, env: NodeJS.ProcessEnv = process.env): number[] {
  return Array.from({ length: masters }, (_, index) => stackRedisPort(env) + index);
}

export function stackClusterDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(stackDataDir(env), CLUSTER_DIR);
}

/**
 * The Redis of the stack that `npm start` runs with the same environment, when
 * REDIS_CLUSTER_NODES is not set: REDIS_URL, or else its private cluster (REDIS_CLUSTER)
 * or private Redis. URLs hold the password: show them only through `redactUrl`.
 */
export function stackRedisTarget(env: NodeJS.ProcessEnv = process.env): { redisUrl: string; redisClusterNodes?: string[] } {
  const masters = stackClusterMasters(env);
  if (masters === undefined) return { redisUrl: stackRedisUrl(env) };
  const password = encodeURIComponent(readStackPassword(env));
  const seeds = stackClusterPorts(masters, env).map((port) => `redis://:${password}@127.0.0.1:${port}`);
  return { redisUrl: seeds[0]!, redisClusterNodes: seeds };
}

/** Holds the password: show it only through `redactUrl`. */
export function stackRedisUrl(env: NodeJS.ProcessEnv = process.env): string {
  if (env['REDIS_URL']) return env['REDIS_URL'];
  return `redis://:${encodeURIComponent(readStackPassword(env))}@127.0.0.1:${stackRedisPort(env)}`;
}

function readStackPassword(env: NodeJS.ProcessEnv): string {
  try {
    return readFileSync(join(stackDataDir(env), PASSWORD_FILE), 'utf8');
  } catch (error) {
    throw new Error(
      `the private Redis's password is not readable (${(error as Error).message}): run this where \`npm start\` runs, ` +
        'with its STACK_DATA_DIR, or set REDIS_URL (or REDIS_CLUSTER_NODES)',
    );
  }
}

/**
 * The password of the private redis-server whose files are in `dataDir`: generated the
 * first time, kept in a file only its owner can read, and the same at every start, so
 * that tools that read it find the Redis that runs.
 */
export function stackRedisPassword(dataDir: string): string {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, PASSWORD_FILE);
  try {
    writeFileSync(file, randomBytes(PASSWORD_BYTES).toString('base64url'), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return readFileSync(file, 'utf8');
}
