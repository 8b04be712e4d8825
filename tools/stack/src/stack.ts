import { fileURLToPath } from 'node:url';
import type { StdioOptions } from 'node:child_process';
import { redactUrl, type Logger, type RedisTarget } from '@follower-maze/shared';
import { RedisCluster } from './redis-cluster.ts';
import { RedisServer } from './redis-server.ts';
import { stackRedisPassword } from './stack-redis.ts';
import { SupervisedProcess } from './supervised-process.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SERVICES = ['ingest', 'sequencer', 'gateway'] as const;
export type ServiceName = (typeof SERVICES)[number];

export interface StackOptions {
  /** Use this Redis; when absent a private redis-server is started. */
  readonly redisUrl?: string;
  /** Use this Redis Cluster (its seed nodes' URLs), instead of `redisUrl`. */
  readonly redisClusterNodes?: readonly string[];
  /**
   * Start a private Redis Cluster instead of one redis-server, AOF on, the nodes' files in
   * `dataDir`: a node on each port, `replicasPerMaster` (default 0) replicas for each master.
   */
  readonly privateCluster?: { readonly ports: readonly number[]; readonly dataDir: string; readonly replicasPerMaster?: number };
  /** Port of the private redis-server. */
  readonly redisPort: number;
  /** Directory of the private redis-server's AOF and password (see `stackRedisPassword`); the private cluster's password too. */
  readonly dataDir: string;
  /** fsync policy of the private redis-server's AOF (see the README for what each can lose). Default `everysec`. */
  readonly appendfsync?: 'always' | 'everysec' | 'no';
  /** Environment of every service (ports, KEY_PREFIX, LOG_LEVEL, ...). */
  readonly env: NodeJS.ProcessEnv;
  /**
   * Extra Node arguments for every process of one service; e.g. the benchmark's
   * `{ sequencer: ['--cpu-prof', ...] }` profiles only the sequencer (Node refuses
   * `--cpu-prof` in NODE_OPTIONS, so an environment variable would not do).
   */
  readonly serviceNodeArgs?: Partial<Record<ServiceName, readonly string[]>>;
  /**
   * One gateway process per port. Absent: a single gateway service on CLIENT_PORT,
   * which runs GATEWAYS worker processes behind that port itself.
   */
  readonly gatewayPorts?: readonly number[];
  /** Sequencer processes: one is active, the others stand by to take over. Default 1. */
  readonly sequencers?: number;
  /**
   * The first of consecutive ports for the processes' metrics and health endpoints, given
   * in the order the processes start (ingest, sequencers, gateways); a gateway running
   * GATEWAYS=N workers takes N + 1 (its primary's, then its workers'). Absent or 0: every
   * process picks a free port (METRICS_PORT=0), and `healthPorts` is empty.
   */
  readonly metricsPort?: number;
  /**
   * Where each process runs, given its name (`ingest`, `sequencer-2`, `gateway-1`, ...)
   * and service: e.g. `{ commandPrefix: ['ip', 'netns', 'exec', 'fm-1-gw'], env: { LISTEN_HOST: '10.213.7.5' } }`
   * starts it in that network namespace, listening on its address (the several-hosts
   * end-to-end test). Default: every process on this host, as it is.
   */
  readonly placement?: (name: string, service: ServiceName) => ProcessPlacement;
  readonly stdio: StdioOptions;
  readonly restart: boolean;
}

/** See `StackOptions.placement`. */
export interface ProcessPlacement {
  /** Put before the Node command, e.g. `['ip', 'netns', 'exec', '<namespace>']`. */
  readonly commandPrefix?: readonly string[];
  /** Extra Node arguments, after `--import tsx` (so they may name TypeScript modules). */
  readonly nodeArgs?: readonly string[];
  /** Extra environment of this process, over every other. */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * The whole product as local processes: Redis (unless one is given), ingest, the
 * sequencer and the gateways, each supervised. Used by `npm start`, the end-to-end
 * tests and the benchmark alike.
 */
export class Stack {
  readonly processes = new Map<string, SupervisedProcess>();
  /** Each process's metrics and health port, when `metricsPort` is given; a gateway primary's answers for its workers. */
  readonly healthPorts = new Map<string, number>();
  redis: RedisServer | undefined;
  redisCluster: RedisCluster | undefined;
  /** Holds the password of the private Redis: show it only through `redactUrl`. On a cluster, its first seed node. */
  redisUrl = '';
  /** The cluster's seed nodes, when the stack runs on one; hold the password like `redisUrl`. */
  redisClusterNodes: readonly string[] | undefined;
  private nextMetricsPort: number;

  constructor(
    private readonly options: StackOptions,
    private readonly logger: Logger,
  ) {
    this.nextMetricsPort = options.metricsPort ?? 0;
  }

  /** Where the services' Redis is, for tools that look at it (readiness, `ops`). */
  get redisTarget(): RedisTarget {
    return { redisUrl: this.redisUrl, ...(this.redisClusterNodes && { redisClusterNodes: this.redisClusterNodes }) };
  }

  async start(): Promise<void> {
    const { redisClusterNodes, privateCluster } = this.options;
    if (redisClusterNodes) {
      this.redisClusterNodes = redisClusterNodes;
    } else if (this.options.redisUrl) {
      this.redisUrl = this.options.redisUrl;
    } else if (privateCluster) {
      const { ports, dataDir, replicasPerMaster = 0 } = privateCluster;
      this.redisCluster = await RedisCluster.start({
        masters: ports.length / (1 + replicasPerMaster), replicasPerMaster, dataDir, password: stackRedisPassword(this.options.dataDir), appendOnly: true, ports,
      });
      this.redisClusterNodes = this.redisCluster.seedUrls;
      this.logger.info({ nodes: this.redisClusterNodes.map(redactUrl), dataDir }, 'private Redis Cluster started');
    } else {
      const { redisPort: port, dataDir, appendfsync = 'everysec' } = this.options;
      this.redis = new RedisServer({ port, dataDir, appendfsync, password: stackRedisPassword(dataDir) });
      await this.redis.start();
      this.redisUrl = this.redis.url;
      this.logger.info({ url: redactUrl(this.redisUrl), dataDir }, 'private redis-server started');
    }
    this.redisUrl = this.redisClusterNodes?.[0] ?? this.redisUrl;
    for (const service of SERVICES) {
      const replicas = this.replicaEnvironments(service);
      replicas.forEach((env, index) => {
        const name = replicas.length > 1 ? `${service}-${index + 1}` : service;
        this.add(name, service, { ...env, METRICS_PORT: String(this.takeMetricsPorts(name, service, env)) });
      });
    }
  }

  /** The process's metrics port, and the ports after it that its workers take. */
  private takeMetricsPorts(name: string, service: ServiceName, env: NodeJS.ProcessEnv): number {
    if (this.nextMetricsPort === 0) return 0;
    const port = this.nextMetricsPort;
    const workers = Number(env['GATEWAYS'] ?? this.options.env['GATEWAYS'] ?? 1);
    this.nextMetricsPort += service === 'gateway' && workers > 1 ? workers + 1 : 1;
    this.healthPorts.set(name, port);
    return port;
  }

  /** One environment per process of the service. */
  private replicaEnvironments(service: ServiceName): NodeJS.ProcessEnv[] {
    if (service === 'gateway' && this.options.gatewayPorts) {
      return this.options.gatewayPorts.map((port) => ({ CLIENT_PORT: String(port), GATEWAYS: '1' }));
    }
    const count = service === 'sequencer' ? (this.options.sequencers ?? 1) : 1;
    return Array.from({ length: count }, () => ({}));
  }

  process(name: string): SupervisedProcess {
    const found = this.processes.get(name);
    if (!found) throw new Error(`no process named ${name}; have ${[...this.processes.keys()].join(', ')}`);
    return found;
  }

  /** Stops the services first, then Redis, so that nothing accepted is left unwritten. */
  async stop(): Promise<void> {
    await Promise.all([...this.processes.values()].map((process) => process.stop()));
    await this.redis?.stop();
    await this.redisCluster?.stop();
  }

  /** A cluster's services must not get REDIS_URL too (an inherited one, say): the configuration refuses both. */
  private redisEnvironment(): NodeJS.ProcessEnv {
    return this.redisClusterNodes
      ? { REDIS_URL: undefined, REDIS_CLUSTER_NODES: this.redisClusterNodes.join(',') }
      : { REDIS_URL: this.redisUrl };
  }

  private add(name: string, service: ServiceName, env: NodeJS.ProcessEnv): void {
    const placement = this.options.placement?.(name, service) ?? {};
    const [command = globalThis.process.execPath, ...prefixArgs] = [...(placement.commandPrefix ?? []), globalThis.process.execPath];
    const process = new SupervisedProcess({
      name,
      command,
      args: [
        ...prefixArgs, ...(this.options.serviceNodeArgs?.[service] ?? []), '--import', 'tsx', ...(placement.nodeArgs ?? []),
        `${REPO_ROOT}services/${service}/src/main.ts`,
      ],
      env: { ...globalThis.process.env, ...this.options.env, ...this.redisEnvironment(), ...env, ...placement.env },
      stdio: this.options.stdio,
      restart: this.options.restart,
    }, this.logger);
    this.processes.set(name, process);
    process.start();
  }
}
