import { Cluster, Redis, type ChainableCommander, type RedisOptions } from 'ioredis';
import type { Logger } from './logger.ts';
import { HIDDEN_PASSWORD } from './redact-url.ts';
import { ThrottledWarning } from './throttled-warning.ts';

/** A connection to one Redis, or to a Redis Cluster (REDIS_CLUSTER_NODES). */
export type RedisClient = Redis | Cluster;

/** Longest pause between two reconnection attempts. */
const MAX_RECONNECT_DELAY_MS = 2000;

/**
 * Where Redis is and how to trust its TLS certificate: REDIS_URL, or REDIS_CLUSTER_NODES
 * for a cluster, and REDIS_TLS_CA_FILE's certificates (a `Config` is one).
 */
export interface RedisTarget {
  readonly redisUrl: string;
  readonly redisTlsCa?: string | undefined;
  /** Seed nodes of a Redis Cluster, as URLs; every node takes the first one's user, password and TLS. */
  readonly redisClusterNodes?: readonly string[] | undefined;
}

/** A node of a cluster, as the cluster's slot map names it. */
export interface NodeAddress {
  readonly host: string;
  readonly port: number;
}

/** The options that make a connection to the target trust the authority of REDIS_TLS_CA_FILE, when one is given. */
export function redisTlsOptions(target: RedisTarget): RedisOptions {
  return target.redisTlsCa === undefined ? {} : { tls: { ca: target.redisTlsCa } };
}

/**
 * A Redis connection that retries forever with backoff (commands wait in its queue
 * while it reconnects) and logs its troubles without crashing the process. With
 * REDIS_CLUSTER_NODES, a cluster client: it learns the slot map from the seeds, follows
 * redirections and failovers, and gives every node connection the same options.
 */
export function connectRedis(target: RedisTarget & { readonly redisClusterNodes?: undefined }, name: string, logger: Logger, options?: RedisOptions): Redis;
export function connectRedis(target: RedisTarget, name: string, logger: Logger, options?: RedisOptions): RedisClient;
export function connectRedis(target: RedisTarget, name: string, logger: Logger, options: RedisOptions = {}): RedisClient {
  const seeds = target.redisClusterNodes;
  const client = seeds
    ? new Cluster(seeds.map(seedNode), {
      redisOptions: { ...nodeOptions(target, name), ...options },
      clusterRetryStrategy: retryDelay,
      // A master that failed over answers CLUSTERDOWN or is gone for a few seconds: commands wait, as on one Redis.
      retryDelayOnClusterDown: 200,
      retryDelayOnFailover: 200,
    })
    : new Redis(target.redisUrl, { ...nodeOptions(target, name), ...options });
  watchRedisErrors(client, name, logger);
  return client;
}

/** A connection to one node of the cluster the target names (a gateway's sharded subscriber, say). */
export function connectNode(target: RedisTarget, node: NodeAddress, name: string, logger: Logger, options: RedisOptions = {}): Redis {
  const redis = new Redis({ ...nodeOptions(target, name), host: node.host, port: node.port, ...options });
  watchRedisErrors(redis, name, logger);
  return redis;
}

/** The master nodes of a cluster client (each one's own connection), or the one Redis. */
export function masterNodes(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}

/**
 * The keys matching `pattern`, a SCAN step at a time (about `count` keys each), with the
 * node that holds them: SCAN sees one node's keys, so on a Redis Cluster every master is
 * scanned, and what a step found is read or deleted on that node.
 */
export async function* scanEveryMaster(client: RedisClient, pattern: string, count: number): AsyncGenerator<{ node: Redis; keys: string[] }> {
  for (const node of masterNodes(client)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      cursor = next;
      if (keys.length > 0) yield { node, keys };
    } while (cursor !== '0');
  }
}

/** A second client like the first: the same Redis or cluster, the same options. */
export function duplicateClient(client: RedisClient): RedisClient {
  return client instanceof Cluster ? client.duplicate() : client.duplicate();
}

function retryDelay(attempt: number): number {
  return Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS);
}

/** Options of every node connection of a service: it names itself and waits out outages. */
function nodeOptions(target: RedisTarget, name: string): RedisOptions {
  return { connectionName: name, maxRetriesPerRequest: null, retryStrategy: retryDelay, ...credentialOptions(target) };
}

/** Credentials, TLS and database of every node connection: from REDIS_URL, or from the first seed node's URL. */
export function credentialOptions(target: RedisTarget): RedisOptions {
  const url = new URL(target.redisClusterNodes?.[0] ?? target.redisUrl);
  return {
    ...(url.username && { username: decodeURIComponent(url.username) }),
    ...(url.password && { password: decodeURIComponent(url.password) }),
    ...(url.protocol === 'rediss:' && { tls: {} }),
    ...(target.redisClusterNodes === undefined && url.pathname.length > 1 && { db: Number(url.pathname.slice(1)) }),
    ...redisTlsOptions(target),
  };
}

/** A seed node of REDIS_CLUSTER_NODES. */
export function seedNode(url: string): NodeAddress {
  const { hostname, port } = new URL(url);
  return { host: hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(port || 6379) };
}

/** Refused credentials, one warning per process and interval however many connections are refused. */
const refusedCredentials = new WeakMap<Logger, ThrottledWarning>();

/**
 * Logs a connection's troubles, one line per interval however long an outage lasts.
 * Every connection needs it, duplicates too (they do not inherit listeners): ioredis
 * prints a raw stack trace for an error nobody listens to. Refused credentials get a
 * line of their own that names REDIS_URL without its password.
 */
export function watchRedisErrors(redis: RedisClient, name: string, logger: Logger): void {
  const warning = new ThrottledWarning(logger, 'redis connection error');
  redis.on('error', (error: Error) => {
    hideCredentials(error);
    if (!isCredentialsRefusal(error)) {
      warning.warn({ connection: name, err: error.message });
      return;
    }
    if (!refusedCredentials.has(logger)) {
      refusedCredentials.set(logger, new ThrottledWarning(logger, 'Redis refused the credentials in REDIS_URL: check its user and password'));
    }
    refusedCredentials.get(logger)!.warn({ redis: redisAddress(redis), err: error.message });
  });
  redis.on('reconnecting', () => logger.debug({ connection: name }, 'redis reconnecting'));
}

/** Commands whose arguments hold the password. */
const CREDENTIALS_COMMANDS = new Set(['auth', 'hello']);

/**
 * ioredis attaches the failed command to its error (`command: { name, args }`), so a
 * refused HELLO or AUTH carries the password to whatever prints the error: a logger, or
 * BullMQ, which prints with console.error an error event no listener takes. Its arguments
 * are blanked here, as the connection reports the error, before the same error object
 * rejects the commands that waited for the connection.
 */
export function hideCredentials(error: Error): void {
  const command = (error as { command?: { name?: unknown; args?: unknown[] } }).command;
  if (command && CREDENTIALS_COMMANDS.has(String(command.name).toLowerCase())) command.args = [HIDDEN_PASSWORD];
}

/** A wrong password or user (WRONGPASS), none where Redis wants one (NOAUTH), or a Redis before 6 refusing it. */
export function isCredentialsRefusal(error: Error): boolean {
  return /^(WRONGPASS|NOAUTH)\b|^ERR invalid password/.test(error.message);
}

/** The connection's Redis as a URL that may be shown: its password, if any, as `***`. */
function redisAddress(client: RedisClient): string {
  const { host, port, username, password, db, tls } = client instanceof Cluster
    ? client.nodes()[0]?.options ?? { ...client.options.redisOptions, host: 'cluster', port: 0 }
    : client.options;
  const credentials = username || password ? `${username ?? ''}${password ? `:${HIDDEN_PASSWORD}` : ''}@` : '';
  return `${tls ? 'rediss' : 'redis'}://${credentials}${host}:${port}${db ? `/${db}` : ''}`;
}

/** Closes a connection politely, or drops it when Redis is not there to answer. */
export async function disconnectRedis(redis: RedisClient): Promise<void> {
  if (redis.status === 'ready') {
    await redis.quit().catch(() => redis.disconnect());
  } else {
    redis.disconnect();
  }
}

/**
 * Runs a MULTI/EXEC and returns each command's reply. ioredis resolves a transaction
 * whose commands failed (OOM, READONLY) with the errors among the replies: they are
 * thrown here, as is a discarded transaction.
 */
export async function execTransaction(transaction: ChainableCommander): Promise<unknown[]> {
  const replies = await transaction.exec();
  if (!replies) throw new Error('the transaction was discarded');
  const failure = replies.find(([error]) => error)?.[0];
  if (failure) throw failure;
  return replies.map(([, reply]) => reply);
}
