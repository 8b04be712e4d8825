import { readFileSync } from 'node:fs';
import envVar from 'env-var';
import { LOOPBACK_ADDRESSES, parseAddressList, type AddressRange } from './address-allow-list.ts';
import { checkKeyPrefix } from './keys.ts';

const MAX_PORT = 65_535;

/**
 * Every setting of every service, parsed once at start-up into a frozen object.
 * Each service reads only the part it needs; one table in the README lists them all.
 */
export interface Config {
  /**
   * Redis that holds the stream, the follow graph, presence and pub/sub: `redis://` or,
   * for TLS, `rediss://`, with a user and password when Redis wants them
   * (`rediss://fm:secret@redis.example:6380`). Default `redis://127.0.0.1:6379`. It holds
   * the password: log or print it only through `redactUrl`.
   */
  readonly redisUrl: string;
  /**
   * Certificates (PEM) of the authority that signed Redis's TLS certificate, read from the
   * file REDIS_TLS_CA_FILE names, for a Redis whose certificate no public authority signed.
   * Only with `rediss://`. Default: unset, the system's authorities.
   */
  readonly redisTlsCa: string | undefined;
  /**
   * Seed nodes of a Redis Cluster, instead of REDIS_URL: a comma-separated list of URLs
   * (`redis://:secret@10.0.0.1:7000,redis://10.0.0.2:7000`); the client learns the rest of
   * the cluster from them, and every node takes the first URL's user, password and TLS.
   * Default: unset, one Redis at REDIS_URL. Every key is then in the hash tag of
   * KEY_PREFIX, and user channels are sharded channels; see the README's *Redis Cluster*.
   */
  readonly redisClusterNodes: readonly string[] | undefined;
  /** Prefix of every Redis key and channel, so deployments and test runs can share one Redis; see `checkKeyPrefix`. Default `fm`. */
  readonly keyPrefix: string;
  /**
   * Address the TCP servers bind to. Default `127.0.0.1`: nothing is reachable from other
   * machines until an operator says so (`0.0.0.0`, or one interface's address); the image
   * sets `0.0.0.0`, since inside a container only the published ports are reachable.
   */
  readonly listenHost: string;
  /** Port of the event source (ingest). Default 9090. */
  readonly eventPort: number;
  /** Port of the user clients (gateway). Default 9099. */
  readonly clientPort: number;
  /** pino level. Default `info`. */
  readonly logLevel: string;
  /** How often each service logs its counters, when they changed since its last counters line. Default 10000 ms. */
  readonly metricsIntervalMs: number;
  /**
   * Port of the process's metrics and health endpoints (`/metrics`, `/livez`, `/readyz`),
   * on LISTEN_HOST. One per process: `npm start` gives its processes consecutive ports
   * from this one, and a gateway with GATEWAYS=N gives worker i the port METRICS_PORT + i.
   * 0 picks a free port. Default 9464.
   */
  readonly metricsPort: number;
  readonly ingest: IngestConfig;
  readonly sequencer: SequencerConfig;
  readonly gateway: GatewayConfig;
}

export interface IngestConfig {
  /** Longest event line accepted; longer lines are rejected without being buffered. Default 1024 bytes. */
  readonly maxLineBytes: number;
  /** Events packed into one stream entry at most. Default 2000. */
  readonly maxEventsPerEntry: number;
  /** How long a partly filled entry may wait before it is appended. Default 2 ms. */
  readonly flushIntervalMs: number;
  /** Appends awaiting Redis before the socket is paused. Default 4. */
  readonly maxAppendsInFlight: number;
  /** Stream entries not yet read by the sequencer before the socket is paused (one sequencer read's worth keeps latency low). Default 20. */
  readonly maxUnreadEntries: number;
  /** Event source connections at a time; more are refused. Above 1 only for a source sharded over several connections. Default 1. */
  readonly maxSources: number;
  /**
   * Addresses and networks (CIDR, IPv4 or IPv6) that may connect to the event port, from
   * EVENT_SOURCE_ALLOW; a connection from anywhere else is closed at once, counted, logged
   * and recorded. Whoever can send events decides every user's notifications. Default the
   * loopback addresses (`127.0.0.0/8,::1`): a source on another machine needs both
   * LISTEN_HOST and this.
   */
  readonly allowedSources: readonly AddressRange[];
  /**
   * Replicas that must hold appended events before the ingest counts them as done
   * (`WAIT`, from REDIS_WAIT_REPLICAS). Default 0: off. Redis replicates asynchronously:
   * a master that dies after acknowledging an append, before its replica has it, takes
   * the append with it when the replica is promoted, and the event source never resends.
   * On, one `WAIT` follows each group of appends sent together, on the stream's master
   * connection, and the appends free their places among INGEST_MAX_APPENDS_IN_FLIGHT
   * only once it answers. Fewer replicas than asked by REDIS_WAIT_TIMEOUT_MS is logged and
   * counted, and the ingest goes on: the appends are in the master's stream already, and
   * holding the source for a replica that is down would turn a lost replica into a
   * stopped deployment.
   */
  readonly waitReplicas: number;
  /** How long one such `WAIT` waits for the replicas, from REDIS_WAIT_TIMEOUT_MS. Default 1000 ms. */
  readonly waitTimeoutMs: number;
}

export interface SequencerConfig {
  /** Stream entries read per batch; one commit covers them all. Default 20. */
  readonly readEntries: number;
  /** How far ahead of the next expected sequence number an event may be; farther ones are rejected. Default 100000. */
  readonly reorderWindow: number;
  /** Bytes published to one gateway that it has not acknowledged yet before the sequencer waits. Default 8 MiB (Redis drops a subscriber at 32 MiB). */
  readonly maxInFlightBytesPerGateway: number;
  /** A gateway silent for this long is considered dead and its users offline. Default 5000 ms. */
  readonly gatewayTtlMs: number;
  /** How often the stream is trimmed behind the committed offset (a BullMQ job). Default 1000 ms. */
  readonly trimIntervalMs: number;
  /**
   * The most one commit carries: events, notifications and notification bytes. A larger
   * release (a gap closing on a full window) is committed as several batches, so no
   * commit script keeps Redis busy long (other clients wait meanwhile) and the
   * sequencer's event loop never blocks long enough to lose its lease. The event that
   * crosses a limit is the last of its batch. Defaults 10000, 50000 and 1 MiB, measured
   * at 10 M events: against 40000, 200000 and 4 MiB the same throughput, the slowest
   * commit 49 ms instead of 85 ms and the sequencer's longest event-loop delay 147 ms
   * instead of 346 ms, for twice the Redis commands per event (0.22; SADDs group less).
   */
  readonly maxCommitEvents: number;
  readonly maxCommitNotifications: number;
  readonly maxCommitBytes: number;
  /**
   * Follow sets one commit changes at most (SEQUENCER_MAX_COMMIT_FOLLOW_KEYS): the commit
   * script declares each as a key, as a Redis Cluster requires, and no call's argument
   * count may grow with the input. An event changes at most one set, so at the default
   * (10000, SEQUENCER_MAX_COMMIT_EVENTS's default) it never cuts a batch that the other
   * limits would not; it bounds the keys when SEQUENCER_MAX_COMMIT_EVENTS is raised.
   */
  readonly maxCommitFollowKeys: number;
  /**
   * How long the sequencer waits at a missing sequence number, with later events held,
   * before it skips the missing ones by itself. Default: unset, it waits until the event
   * arrives or an operator runs `ops skip-gap`. Set, a lost event costs its notifications
   * instead of stopping the stack; an event that merely comes later than this is dropped.
   */
  readonly gapTimeoutMs: number | undefined;
}

export interface GatewayConfig {
  /** Gateway processes behind the one client port (Node cluster). Default 1. */
  readonly processes: number;
  /** Bytes waiting in one client's socket before that client is disconnected. Default 16 MiB. */
  readonly maxClientBufferBytes: number;
  /**
   * Bytes waiting for all clients of one gateway process together; past it, the clients
   * with the most waiting are disconnected until it is back under. Default 256 MiB: the
   * bytes are held outside the JavaScript heap, so nothing else bounds them, and with the
   * gateway's own ~125 MiB a process stays under ~400 MiB, so that two gateways, the
   * sequencer and Redis fit a 2-core machine with a few GiB. That is 16 clients at the
   * per-client limit, or every one of 15,000 clients about 17 KiB behind.
   */
  readonly maxBufferedBytes: number;
  /**
   * Client connections one gateway process holds at most (in the handshake or served);
   * more are closed at once, counted and recorded as rejections. Default 15000. Memory is
   * not what bounds it (an idle client costs about 2 KiB of heap and 2-4 KiB of RSS:
   * 15,000 measured at 37 MiB of heap, 120-150 MiB RSS): each costs a file descriptor,
   * and past the process's descriptor limit (`ulimit -n`, 20,000 on the development
   * machine) connections are dropped unseen and uncounted, so keep this below it. Joins
   * are not what bounds it either: a gateway announces the joins of a turn together
   * (200,000 users below the socket layer in about 2 s).
   */
  readonly maxClients: number;
  /**
   * Keep serving a client that shut down its sending side (half-close) after its id line.
   * Default false, as Node's own default: a client that ends its side is disconnected at
   * once and its user leaves, instead of lingering until a write to it fails.
   */
  readonly allowHalfOpen: boolean;
  /** A client that has not sent its id line by then is disconnected. Default 30000 ms. */
  readonly idLineTimeoutMs: number;
  /** Longest id line accepted. Default 64 bytes. */
  readonly maxIdLineBytes: number;
  /** Least time between two progress reports to the sequencer. Default 5 ms. */
  readonly ackIntervalMs: number;
  /** How often a gateway says it is alive. Default 1000 ms. */
  readonly heartbeatIntervalMs: number;
}

/** The classic single-process server's `config.json`, accepted for people migrating from it. */
interface ClassicConfigFile {
  eventListenerPort?: number;
  clientListenerPort?: number;
}

/** `--config FILE` among the arguments, or undefined. */
export function configFileFromArgs(argv: readonly string[]): string | undefined {
  const flag = argv.indexOf('--config');
  if (flag === -1) return undefined;
  const file = argv[flag + 1];
  if (!file) throw new Error('--config needs a file, for example: --config config.json');
  return file;
}

function readClassicConfig(file: string): ClassicConfigFile {
  const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${file}: expected an object such as {"eventListenerPort": 9090, "clientListenerPort": 9099}`);
  }
  return parsed as ClassicConfigFile;
}

/**
 * Parses the environment (and the classic config file, whose ports apply unless
 * EVENT_PORT / CLIENT_PORT are set). Throws an error naming the variable and a valid example.
 */
export function loadConfig(
  environment: NodeJS.ProcessEnv = process.env,
  argv: readonly string[] = process.argv,
): Config {
  const file = configFileFromArgs(argv);
  const classic = file ? readClassicConfig(file) : {};
  const env = envVar.from<NodeJS.ProcessEnv, typeof accessors>({
    ...(classic.eventListenerPort !== undefined && { EVENT_PORT: String(classic.eventListenerPort) }),
    ...(classic.clientListenerPort !== undefined && { CLIENT_PORT: String(classic.clientListenerPort) }),
    ...environment,
  }, accessors);
  const int = (name: string, fallback: number, example: string) =>
    env.get(name).default(String(fallback)).example(example).asIntPositive();
  const config: Config = {
    redisUrl: env.get('REDIS_URL').default('redis://127.0.0.1:6379').example('rediss://fm:password@redis.example:6380/0').asRedisUrl(),
    redisTlsCa: env.get('REDIS_TLS_CA_FILE').example('/etc/follower-maze/redis-ca.pem').asFileText(),
    redisClusterNodes: env.get('REDIS_CLUSTER_NODES').example('redis://:password@10.0.0.1:7000,redis://10.0.0.2:7000').asRedisUrlList(),
    keyPrefix: env.get('KEY_PREFIX').default('fm').example('fm').asKeyPrefix(),
    listenHost: env.get('LISTEN_HOST').default('127.0.0.1').example('0.0.0.0').asString(),
    eventPort: env.get('EVENT_PORT').default('9090').example('9090').asPortNumber(),
    clientPort: env.get('CLIENT_PORT').default('9099').example('9099').asPortNumber(),
    logLevel: env.get('LOG_LEVEL').default('info').example('debug')
      .asEnum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    metricsIntervalMs: env.get('METRICS_INTERVAL_MS').default('10000').example('10000').asIntPositive(),
    metricsPort: env.get('METRICS_PORT').default('9464').example('9464').asPortNumber(),
    ingest: {
      maxLineBytes: int('INGEST_MAX_LINE_BYTES', 1024, '1024'),
      maxEventsPerEntry: int('INGEST_MAX_EVENTS_PER_ENTRY', 2000, '2000'),
      flushIntervalMs: int('INGEST_FLUSH_INTERVAL_MS', 2, '2'),
      maxAppendsInFlight: int('INGEST_MAX_APPENDS_IN_FLIGHT', 4, '4'),
      maxUnreadEntries: int('INGEST_MAX_UNREAD_ENTRIES', 20, '20'),
      maxSources: int('INGEST_MAX_SOURCES', 1, '1'),
      allowedSources: env.get('EVENT_SOURCE_ALLOW').default(LOOPBACK_ADDRESSES).example('127.0.0.1,10.0.0.0/8,fd00::/8').asAddressList(),
      waitReplicas: env.get('REDIS_WAIT_REPLICAS').default('0').example('1').asIntPositive(),
      waitTimeoutMs: int('REDIS_WAIT_TIMEOUT_MS', 1000, '1000'),
    },
    sequencer: {
      readEntries: int('SEQUENCER_READ_ENTRIES', 20, '20'),
      reorderWindow: int('SEQUENCER_REORDER_WINDOW', 100_000, '100000'),
      maxInFlightBytesPerGateway: int('SEQUENCER_MAX_IN_FLIGHT_BYTES', 8 * 1024 * 1024, '8388608'),
      gatewayTtlMs: int('SEQUENCER_GATEWAY_TTL_MS', 5000, '5000'),
      trimIntervalMs: int('SEQUENCER_TRIM_INTERVAL_MS', 1000, '1000'),
      maxCommitEvents: int('SEQUENCER_MAX_COMMIT_EVENTS', 10_000, '10000'),
      maxCommitNotifications: int('SEQUENCER_MAX_COMMIT_NOTIFICATIONS', 50_000, '50000'),
      maxCommitBytes: int('SEQUENCER_MAX_COMMIT_BYTES', 1024 * 1024, '1048576'),
      maxCommitFollowKeys: int('SEQUENCER_MAX_COMMIT_FOLLOW_KEYS', 10_000, '10000'),
      gapTimeoutMs: env.get('SEQUENCER_GAP_TIMEOUT_MS').example('30000').asIntPositive(),
    },
    gateway: {
      processes: int('GATEWAYS', 1, '2'),
      maxClientBufferBytes: int('GATEWAY_MAX_CLIENT_BUFFER_BYTES', 16 * 1024 * 1024, '16777216'),
      maxBufferedBytes: int('GATEWAY_MAX_BUFFERED_BYTES', 256 * 1024 * 1024, '268435456'),
      maxClients: int('GATEWAY_MAX_CLIENTS', 15_000, '15000'),
      allowHalfOpen: env.get('GATEWAY_ALLOW_HALF_OPEN').default('false').example('true').asBool(),
      idLineTimeoutMs: int('GATEWAY_ID_LINE_TIMEOUT_MS', 30_000, '30000'),
      maxIdLineBytes: int('GATEWAY_MAX_ID_LINE_BYTES', 64, '64'),
      ackIntervalMs: int('GATEWAY_ACK_INTERVAL_MS', 5, '5'),
      heartbeatIntervalMs: int('GATEWAY_HEARTBEAT_INTERVAL_MS', 1000, '1000'),
    },
  };
  // A gateway cluster's workers take the ports after METRICS_PORT (services/gateway/src/primary-health.ts).
  if (config.metricsPort !== 0 && config.metricsPort + config.gateway.processes > MAX_PORT) {
    throw new Error(
      `METRICS_PORT=${config.metricsPort} with GATEWAYS=${config.gateway.processes}: the workers' metrics ports, ` +
      `METRICS_PORT + 1 to METRICS_PORT + GATEWAYS, pass ${MAX_PORT}; for example METRICS_PORT=9464`,
    );
  }
  if (config.ingest.waitTimeoutMs === 0) {
    // Redis's WAIT with a timeout of 0 waits for ever: one replica down would hold the source for good.
    throw new Error('REDIS_WAIT_TIMEOUT_MS=0 would wait for the replicas for ever; give milliseconds, for example REDIS_WAIT_TIMEOUT_MS=1000');
  }
  if (config.redisClusterNodes !== undefined && environment.REDIS_URL !== undefined) {
    throw new Error('REDIS_URL and REDIS_CLUSTER_NODES are both set: give REDIS_URL for one Redis, or REDIS_CLUSTER_NODES for a cluster');
  }
  if (config.redisTlsCa !== undefined && !(config.redisClusterNodes?.[0] ?? config.redisUrl).startsWith('rediss://')) {
    throw new Error('REDIS_TLS_CA_FILE is set, so REDIS_URL must be a TLS one, for example rediss://fm:password@redis.example:6380');
  }
  return deepFreeze(config);
}

/**
 * A `redis://` or `rediss://` URL. The messages never repeat the value: it may hold a password.
 */
function asRedisUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error('should be a URL (its value is not repeated here: it may hold a password)');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new Error('should start with redis:// or, for TLS, rediss://');
  return value;
}

/** A comma-separated list of `redis://` or `rediss://` URLs, all of one kind. */
function asRedisUrlList(value: string): string[] {
  const urls = value.split(',').map((url) => url.trim()).filter((url) => url !== '');
  if (urls.length === 0) throw new Error('should name at least one node, for example redis://10.0.0.1:7000');
  for (const url of urls) asRedisUrl(url);
  if (new Set(urls.map((url) => new URL(url).protocol)).size > 1) throw new Error('should be all redis:// or all rediss://');
  return urls;
}

function asFileText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`names a file that cannot be read (${(error as Error).message})`);
  }
}

/** The accessors of our own settings' kinds, beside env-var's: their errors are reported like env-var's own. */
const accessors = { asRedisUrl, asRedisUrlList, asKeyPrefix: checkKeyPrefix, asAddressList: parseAddressList, asFileText };

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (typeof child === 'object' && child !== null) deepFreeze(child);
  }
  return Object.freeze(value);
}
