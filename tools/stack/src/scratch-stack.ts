import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pino } from 'pino';
import { keysFor, type Keys, type Logger, type RedisClient } from '@follower-maze/shared';
import { freePorts } from './free-ports.ts';
import { waitUntilReady } from './readiness.ts';
import { RedisCluster } from './redis-cluster.ts';
import { Stack } from './stack.ts';
import { leaseHolder, logLines, nextLeaseHolder } from './stack-probes.ts';
import type { SupervisedProcess } from './supervised-process.ts';
import { toolConnection } from './tool-connection.ts';

export interface ScratchStackOptions {
  readonly appendfsync?: 'always' | 'everysec' | 'no';
  /** Default 2: one active, one standby, so that a killed sequencer is replaced at once. */
  readonly sequencers?: number;
  /** Gateway processes, each on a port of its own. Default 2. */
  readonly gateways?: number;
  /** Extra environment of every service. */
  readonly env?: NodeJS.ProcessEnv;
  /** Receives the stack's own messages (a service died and was restarted). Default: the services' log file. */
  readonly logger?: Logger;
  /** Run on a private Redis Cluster of this shape (AOF on) instead of one redis-server. */
  readonly redisCluster?: { readonly masters: number; readonly replicasPerMaster?: number };
}

/** What a started scratch stack is made of; subclasses receive it from `launch`. */
export interface ScratchStackParts {
  readonly stack: Stack;
  readonly eventPort: number;
  readonly gatewayPorts: number[];
  readonly redis: RedisClient;
  readonly dir: string;
  readonly logFd: number;
  readonly redisCluster: RedisCluster | undefined;
}

const HOST = '127.0.0.1';
const KEY_PREFIX = 'fm';
const LOG_FILE = 'services.log';

/**
 * The product as processes on free ports around a private redis-server in a
 * temporary directory, thrown away by `stop`. Private, so that its Redis can be
 * killed, restarted or starved without touching anyone else's; supervised like
 * `npm start`, so that killed services come back; the services' logs go to one file
 * that can be read or kept. The end-to-end tests and the soak both run on it.
 */
export class ScratchStack {
  readonly stack: Stack;
  readonly eventPort: number;
  readonly gatewayPorts: number[];
  /** A connection for the caller's own commands (a cluster client on a cluster); it retries while Redis is away. */
  readonly redis: RedisClient;
  /** The private cluster, when the stack runs on one: tests kill its masters. */
  readonly redisCluster: RedisCluster | undefined;
  private readonly dir: string;
  private readonly logFd: number;

  protected constructor(parts: ScratchStackParts) {
    this.stack = parts.stack;
    this.eventPort = parts.eventPort;
    this.gatewayPorts = parts.gatewayPorts;
    this.redis = parts.redis;
    this.redisCluster = parts.redisCluster;
    this.dir = parts.dir;
    this.logFd = parts.logFd;
  }

  static async start(options: ScratchStackOptions): Promise<ScratchStack> {
    return new ScratchStack(await ScratchStack.launch(options));
  }

  /** Starts the processes and waits until the stack can take a verification run. */
  protected static async launch(options: ScratchStackOptions): Promise<ScratchStackParts> {
    const dir = mkdtempSync(join(tmpdir(), 'fm-stack-'));
    const [redisPort, eventPort, ...gatewayPorts] = await freePorts(2 + (options.gateways ?? 2));
    const logFd = openSync(join(dir, LOG_FILE), 'a');
    const redisCluster = options.redisCluster && await RedisCluster.start({ ...options.redisCluster, dataDir: join(dir, 'cluster'), appendOnly: true });
    const stack = new Stack({
      ...(redisCluster && { redisClusterNodes: redisCluster.seedUrls }),
      redisPort: redisPort!,
      dataDir: join(dir, 'redis'),
      appendfsync: options.appendfsync ?? 'everysec',
      env: {
        KEY_PREFIX, EVENT_PORT: String(eventPort), LISTEN_HOST: HOST, LOG_LEVEL: 'info',
        SEQUENCER_TRIM_INTERVAL_MS: '500', ...options.env,
      },
      gatewayPorts,
      sequencers: options.sequencers ?? 2,
      stdio: ['ignore', logFd, logFd],
      restart: true,
    }, options.logger ?? pino({ base: { service: 'stack' } }, pino.destination({ fd: logFd, sync: true })));
    return ScratchStack.started(stack, { dir, logFd, eventPort: eventPort!, gatewayPorts, redisCluster }, gatewayPorts.length);
  }

  /**
   * Starts a stack built on `dir` and waits until `gatewayProcesses` gateways take clients;
   * a stack that does not get there is stopped and its directory removed.
   */
  protected static async started(
    stack: Stack, parts: Omit<ScratchStackParts, 'stack' | 'redis'>, gatewayProcesses: number,
  ): Promise<ScratchStackParts> {
    try {
      await stack.start();
      await waitUntilReady({ ...stack.redisTarget, keyPrefix: KEY_PREFIX, eventPort: parts.eventPort, gateways: gatewayProcesses });
    } catch (error) {
      await stack.stop();
      await parts.redisCluster?.stop();
      closeSync(parts.logFd);
      rmSync(parts.dir, { recursive: true, force: true });
      throw error;
    }
    const redis = toolConnection(stack.redisTarget, { maxRetriesPerRequest: null });
    redis.on('error', () => undefined);
    return { ...parts, stack, redis };
  }

  get redisUrl(): string {
    return this.stack.redisUrl;
  }

  get keyPrefix(): string {
    return KEY_PREFIX;
  }

  /** The stack's key and channel names (on a cluster, in the prefix's hash tag). */
  get keys(): Keys {
    return keysFor(KEY_PREFIX, this.redisCluster !== undefined);
  }

  /** Where a verification client connects: the event port, and one client port per gateway. */
  get clientTarget(): { eventHost: string; eventPort: number; clientHost: string; clientPorts: number[] } {
    return { eventHost: HOST, eventPort: this.eventPort, clientHost: HOST, clientPorts: [...this.gatewayPorts] };
  }

  get logFile(): string {
    return join(this.dir, LOG_FILE);
  }

  /** The sequencer process that holds the lease. */
  activeSequencer(): Promise<SupervisedProcess | undefined> {
    return leaseHolder(this.redis, this.keys, this.stack.processes);
  }

  /** Waits until a live sequencer other than the given ones holds the lease. */
  nextActiveSequencer(excludingPids: readonly number[], timeoutMs = 10_000): Promise<SupervisedProcess> {
    return nextLeaseHolder(this.redis, this.keys, this.stack.processes, excludingPids, timeoutMs);
  }

  /** Log lines of the services, parsed. */
  logs(): Record<string, unknown>[] {
    return logLines(this.logFile);
  }

  /** Stops every process and deletes the directory; `keepLogAt` first copies the services' log there. */
  async stop(keepLogAt?: string): Promise<void> {
    this.redis.disconnect();
    await this.stack.stop();
    await this.redisCluster?.stop();
    closeSync(this.logFd);
    if (keepLogAt !== undefined) {
      mkdirSync(dirname(keepLogAt), { recursive: true });
      copyFileSync(this.logFile, keepLogAt);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
