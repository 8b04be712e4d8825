import { setTimeout as sleep } from 'node:timers/promises';
import { closeSync, cpSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Stack } from '../../tools/stack/src/stack.ts';
import { waitUntilReady } from '../../tools/stack/src/readiness.ts';
import { runVerification, type VerificationOptions, type VerificationReport } from '../../tools/verify/src/index.ts';
import type { SupervisedProcess } from '../../tools/stack/src/supervised-process.ts';
import { freePorts } from '../../tools/stack/src/free-ports.ts';
import { silentLogger } from './redis-fixture.ts';

export interface StackFixtureOptions {
  readonly appendfsync?: 'always' | 'everysec' | 'no';
  readonly sequencers?: number;
  readonly gateways?: number;
  readonly env?: NodeJS.ProcessEnv;
}

const KEY_PREFIX = 'fm';

/**
 * The product as processes on a private redis-server (so tests may kill and restart
 * it), with supervised restarts like `npm start`, and the services' logs in one file
 * that tests can read.
 */
export class StackFixture {
  private constructor(
    readonly stack: Stack,
    readonly eventPort: number,
    readonly gatewayPorts: number[],
    readonly redis: Redis,
    private readonly dir: string,
    private readonly logFd: number,
  ) {}

  static async start(options: StackFixtureOptions = {}): Promise<StackFixture> {
    const dir = mkdtempSync(join(tmpdir(), 'fm-stack-'));
    const [redisPort, eventPort, ...gatewayPorts] = await freePorts(2 + (options.gateways ?? 2));
    const logFd = openSync(join(dir, 'services.log'), 'a');
    const stack = new Stack({
      redisPort: redisPort!,
      dataDir: join(dir, 'redis'),
      appendfsync: options.appendfsync ?? 'everysec',
      env: {
        KEY_PREFIX, EVENT_PORT: String(eventPort), LISTEN_HOST: '127.0.0.1', LOG_LEVEL: 'info',
        SEQUENCER_TRIM_INTERVAL_MS: '500', ...options.env,
      },
      gatewayPorts,
      sequencers: options.sequencers ?? 2,
      stdio: ['ignore', logFd, logFd],
      restart: true,
    }, silentLogger);
    await stack.start();
    await waitUntilReady({ redisUrl: stack.redisUrl, keyPrefix: KEY_PREFIX, eventPort: eventPort!, gateways: gatewayPorts.length });
    const redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: null });
    redis.on('error', () => undefined);
    return new StackFixture(stack, eventPort!, gatewayPorts, redis, dir, logFd);
  }

  get redisUrl(): string {
    return this.stack.redisUrl;
  }

  get keyPrefix(): string {
    return KEY_PREFIX;
  }

  /** A verification run against this stack, clients spread over its gateways. */
  verify(options: Partial<VerificationOptions> & { totalEvents: number }): Promise<VerificationReport> {
    return runVerification({
      eventHost: '127.0.0.1', eventPort: this.eventPort, clientHost: '127.0.0.1', clientPorts: this.gatewayPorts,
      concurrencyLevel: 100, numberOfUsers: 1000, randomSeed: 666, timeoutMs: 20_000, maxEventSourceBatchSize: 100,
      lineEnding: '\r\n', ...options,
    });
  }

  /** The sequencer process that holds the lease (its token carries its pid). */
  async activeSequencer(): Promise<SupervisedProcess | undefined> {
    const token = await this.redis.get(`${KEY_PREFIX}:sequencer:lease`);
    const pid = Number(token?.split('-').at(-2));
    return [...this.stack.processes.values()].find((process) => process.spec.name.startsWith('sequencer') && process.pid === pid);
  }

  /** Waits until a live sequencer other than the given ones holds the lease. */
  async nextActiveSequencer(excludingPids: readonly number[], timeoutMs = 10_000): Promise<SupervisedProcess> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const active = await this.activeSequencer();
      if (active?.pid && !excludingPids.includes(active.pid)) return active;
      await sleep(20);
    }
    throw new Error(`no sequencer took the lease within ${timeoutMs} ms`);
  }

  /** Log lines of the services, parsed. */
  logs(): Record<string, unknown>[] {
    return readFileSync(join(this.dir, 'services.log'), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  async stop(): Promise<void> {
    this.redis.disconnect();
    await this.stack.stop();
    closeSync(this.logFd);
    // STACK_LOGS_DIR keeps the services' logs of each fixture, to look into a failure.
    const keep = process.env['STACK_LOGS_DIR'];
    if (keep) cpSync(join(this.dir, 'services.log'), join(keep, `services-${Date.now()}.log`));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export { sleep };
