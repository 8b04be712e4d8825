import { fileURLToPath } from 'node:url';
import type { StdioOptions } from 'node:child_process';
import type { Logger } from '@follower-maze/shared';
import { RedisServer } from './redis-server.ts';
import { SupervisedProcess } from './supervised-process.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SERVICES = ['ingest', 'sequencer', 'gateway'] as const;
export type ServiceName = (typeof SERVICES)[number];

export interface StackOptions {
  /** Use this Redis; when absent a private redis-server is started. */
  readonly redisUrl?: string;
  /** Port of the private redis-server. */
  readonly redisPort: number;
  /** Directory of the private redis-server's AOF. */
  readonly dataDir: string;
  /** Environment of every service (ports, KEY_PREFIX, LOG_LEVEL, ...). */
  readonly env: NodeJS.ProcessEnv;
  /**
   * Extra environment for every process of one service, on top of `env`; e.g. the
   * benchmark's `{ sequencer: { NODE_OPTIONS: '--cpu-prof ...' } }` profiles only the sequencer.
   */
  readonly serviceEnv?: Partial<Record<ServiceName, NodeJS.ProcessEnv>>;
  /**
   * One gateway process per port. Absent: a single gateway service on CLIENT_PORT,
   * which runs GATEWAYS worker processes behind that port itself.
   */
  readonly gatewayPorts?: readonly number[];
  readonly stdio: StdioOptions;
  readonly restart: boolean;
}

/**
 * The whole product as local processes: Redis (unless one is given), ingest, the
 * sequencer and the gateways, each supervised. Used by `npm start`, the end-to-end
 * tests and the benchmark alike.
 */
export class Stack {
  readonly processes = new Map<string, SupervisedProcess>();
  redis: RedisServer | undefined;
  redisUrl = '';

  constructor(
    private readonly options: StackOptions,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    if (this.options.redisUrl) {
      this.redisUrl = this.options.redisUrl;
    } else {
      this.redis = new RedisServer({ port: this.options.redisPort, dataDir: this.options.dataDir, appendfsync: 'everysec' });
      await this.redis.start();
      this.redisUrl = this.redis.url;
      this.logger.info({ url: this.redisUrl, dataDir: this.options.dataDir }, 'private redis-server started');
    }
    for (const service of SERVICES) {
      const ports = service === 'gateway' ? (this.options.gatewayPorts ?? [undefined]) : [undefined];
      ports.forEach((port, index) => {
        const name = ports.length > 1 ? `${service}-${index + 1}` : service;
        this.add(name, service, port === undefined ? {} : { CLIENT_PORT: String(port), GATEWAYS: '1' });
      });
    }
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
  }

  private add(name: string, service: ServiceName, env: NodeJS.ProcessEnv): void {
    const process = new SupervisedProcess({
      name,
      command: globalThis.process.execPath,
      args: ['--import', 'tsx', `${REPO_ROOT}services/${service}/src/main.ts`],
      env: { ...globalThis.process.env, ...this.options.env, ...this.options.serviceEnv?.[service], REDIS_URL: this.redisUrl, ...env },
      stdio: this.options.stdio,
      restart: this.options.restart,
    }, this.logger);
    this.processes.set(name, process);
    process.start();
  }
}
