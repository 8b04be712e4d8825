import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { Stack, type ServiceName } from '../../tools/stack/src/stack.ts';
import { keysFor } from '@follower-maze/shared';
import { waitUntilReady } from '../../tools/stack/src/readiness.ts';
import { leaseHolder, logLines, nextLeaseHolder } from '../../tools/stack/src/stack-probes.ts';
import type { SupervisedProcess } from '../../tools/stack/src/supervised-process.ts';
import type { VerificationOptions, VerificationReport } from '../../tools/verify/src/index.ts';
import { HostNetwork } from './host-network.ts';
import { deletePrefix } from './redis-fixture.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The hosts of the several-hosts scenario: Redis, two sequencers, the ingest, the
 * gateways (two processes on two ports) and the checker (event source and user
 * clients), each in a network namespace of its own.
 */
export const HOSTS = ['redis', 'seq1', 'seq2', 'ingest', 'gateways', 'client'] as const;
export type Host = (typeof HOSTS)[number];

/** Inside its own namespace every service can listen on the standard ports. */
const REDIS_PORT = 6379;
const EVENT_PORT = 9090;
const GATEWAY_PORTS = [9099, 9100];
const REDIS_READY_TIMEOUT_MS = 10_000;
/** Printed by verification-child.ts before its JSON report. */
const REPORT_PREFIX = 'verification report: ';

/** The network and a Redis on its own host, shared by the stacks that run on them one after another. */
export class SeveralHosts {
  private constructor(
    readonly network: HostNetwork,
    private readonly redisServer: ChildProcess,
    private readonly dir: string,
  ) {}

  static async create(): Promise<SeveralHosts> {
    const network = HostNetwork.create(HOSTS);
    const dir = mkdtempSync(join(tmpdir(), 'fm-hosts-'));
    let redisServer: ChildProcess | undefined;
    try {
      // protected-mode off: Redis otherwise refuses every client that is not on its loopback.
      redisServer = spawn('ip', [
        ...network.commandPrefix('redis').slice(1), 'redis-server', '--bind', network.address('redis'), '--port', String(REDIS_PORT),
        '--protected-mode', 'no', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec', '--loglevel', 'warning',
      ], { stdio: ['ignore', 'ignore', 'inherit'] });
      await waitForRedis(redisUrl(network), redisServer);
      return new SeveralHosts(network, redisServer, dir);
    } catch (error) {
      redisServer?.kill('SIGKILL');
      network.remove();
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  get redisUrl(): string {
    return redisUrl(this.network);
  }

  /** Stops Redis, then removes the namespaces (ending anything still running on them). */
  async remove(): Promise<void> {
    const server = this.redisServer;
    if (server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
    }
    this.network.remove();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface SeveralHostsStackOptions {
  /** Wall-clock skew of every Node process of a host, in ms (negative: behind); see skewed-clock.ts. */
  readonly clockSkewMs?: Partial<Record<Host, number>>;
  /** Extra environment of every service. */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * The product spread over the hosts: ingest on `ingest`, two gateway processes on
 * `gateways`, one sequencer on `seq1` and one on `seq2`, all reaching Redis on `redis`
 * by its address, under a key prefix of their own. Not restarted when they die, so that
 * a killed sequencer can only be followed by the other one.
 */
export class SeveralHostsStack {
  readonly redis: Redis;

  private constructor(
    readonly hosts: SeveralHosts,
    readonly stack: Stack,
    readonly keyPrefix: string,
    private readonly dir: string,
    private readonly logFd: number,
  ) {
    this.redis = new Redis(hosts.redisUrl, { maxRetriesPerRequest: null });
    this.redis.on('error', () => undefined);
  }

  static async start(hosts: SeveralHosts, keyPrefix: string, options: SeveralHostsStackOptions = {}): Promise<SeveralHostsStack> {
    const { network } = hosts;
    const dir = mkdtempSync(join(tmpdir(), 'fm-hosts-stack-'));
    const logFd = openSync(join(dir, LOG_FILE), 'a');
    const placement = (name: string, service: ServiceName) => {
      const host = hostOf(name, service);
      const skewMs = options.clockSkewMs?.[host];
      return {
        commandPrefix: network.commandPrefix(host),
        env: { LISTEN_HOST: network.address(host), ...(skewMs !== undefined && { FM_CLOCK_SKEW_MS: String(skewMs) }) },
        ...(skewMs !== undefined && { nodeArgs: ['--import', `${REPO_ROOT}test/support/skewed-clock.ts`] }),
      };
    };
    const stack = new Stack({
      redisUrl: hosts.redisUrl,
      redisPort: 0,
      dataDir: '',
      env: {
        KEY_PREFIX: keyPrefix, EVENT_PORT: String(EVENT_PORT), LOG_LEVEL: 'info', SEQUENCER_TRIM_INTERVAL_MS: '500',
        // The checker's host sends the events; the test's own address only probes the port.
        EVENT_SOURCE_ALLOW: `${network.address('client')},${network.controlAddress}`, ...options.env,
      },
      gatewayPorts: GATEWAY_PORTS,
      sequencers: 2,
      placement,
      stdio: ['ignore', logFd, logFd],
      restart: false,
    }, pino({ base: { service: 'stack' } }, pino.destination({ fd: logFd, sync: true })));
    try {
      await stack.start();
      await waitUntilReady({
        redisUrl: hosts.redisUrl, keyPrefix, eventHost: network.address('ingest'), eventPort: EVENT_PORT, gateways: GATEWAY_PORTS.length,
      });
    } catch (error) {
      await stack.stop();
      closeSync(logFd);
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
    return new SeveralHostsStack(hosts, stack, keyPrefix, dir, logFd);
  }

  /** Where the checker connects: the ingest's address, and both gateway ports on the gateways' address. */
  get target(): Pick<VerificationOptions, 'eventHost' | 'eventPort' | 'clientHost' | 'clientPorts'> {
    const { network } = this.hosts;
    return { eventHost: network.address('ingest'), eventPort: EVENT_PORT, clientHost: network.address('gateways'), clientPorts: [...GATEWAY_PORTS] };
  }

  /** The host a process of the stack runs on. */
  hostOf(process: SupervisedProcess): Host {
    return hostOf(process.spec.name, process.spec.name.split('-')[0] as ServiceName);
  }

  /**
   * The standard checker's command (`npm run verify`, tools/verify/src/main.ts) run on
   * the client host, configured by its environment variables as the standard checker is.
   */
  runCheckerCommand(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const { eventHost, eventPort, clientHost, clientPorts } = this.target;
    return runOnHost(this.hosts.network, 'client', [process.execPath, '--import', 'tsx', `${REPO_ROOT}tools/verify/src/main.ts`], {
      eventListenerHost: eventHost, eventListenerPort: String(eventPort), clientListenerHost: clientHost,
      clientListenerPorts: clientPorts.join(','), ...env,
    });
  }

  /** A verification run on the client host (verification-child.ts), with the checker's defaults unless given. */
  async verify(options: Partial<VerificationOptions> & { totalEvents: number }): Promise<VerificationReport> {
    const all: VerificationOptions = {
      ...this.target, concurrencyLevel: 100, numberOfUsers: 1000, randomSeed: 666, timeoutMs: 20_000, maxEventSourceBatchSize: 100,
      lineEnding: '\r\n', ...options,
    };
    const result = await runOnHost(this.hosts.network, 'client', [process.execPath, '--import', 'tsx', `${REPO_ROOT}test/support/verification-child.ts`], {
      FM_VERIFICATION_OPTIONS: JSON.stringify(all),
    });
    const line = result.stdout.split('\n').find((text) => text.startsWith(REPORT_PREFIX));
    if (!line) throw new Error(`the verification on the client host printed no report (exit ${result.code}): ${result.stderr.slice(-2000)}`);
    return JSON.parse(line.slice(REPORT_PREFIX.length)) as VerificationReport;
  }

  /** The sequencer process that holds the lease. */
  activeSequencer(): Promise<SupervisedProcess | undefined> {
    return leaseHolder(this.redis, keysFor(this.keyPrefix), this.stack.processes);
  }

  /** Waits until a sequencer other than the given ones holds the lease. */
  nextActiveSequencer(excludingPids: readonly number[], timeoutMs = 10_000): Promise<SupervisedProcess> {
    return nextLeaseHolder(this.redis, keysFor(this.keyPrefix), this.stack.processes, excludingPids, timeoutMs);
  }

  /** The services' log lines, parsed. */
  logs(): Record<string, unknown>[] {
    return logLines(join(this.dir, LOG_FILE));
  }

  /** The services' warnings and errors, for a failure message. */
  problems(limit = 20): string {
    return this.logs()
      .filter((line) => Number(line['level']) >= 40)
      .slice(-limit)
      .map((line) => JSON.stringify(line))
      .join('\n');
  }

  /** Stops the services and deletes their keys; STACK_LOGS_DIR keeps their log. */
  async stop(): Promise<void> {
    await this.stack.stop();
    closeSync(this.logFd);
    const keep = process.env['STACK_LOGS_DIR'];
    if (keep) {
      mkdirSync(keep, { recursive: true });
      copyFileSync(join(this.dir, LOG_FILE), join(keep, `several-hosts-${Date.now()}.log`));
    }
    rmSync(this.dir, { recursive: true, force: true });
    await deletePrefix(this.redis, this.keyPrefix).catch(() => undefined);
    this.redis.disconnect();
  }
}

const LOG_FILE = 'services.log';

function redisUrl(network: HostNetwork): string {
  return `redis://${network.address('redis')}:${REDIS_PORT}`;
}

function hostOf(name: string, service: ServiceName): Host {
  if (service === 'sequencer') return name === 'sequencer-2' ? 'seq2' : 'seq1';
  return service === 'gateway' ? 'gateways' : 'ingest';
}

/** Runs a command on a host and collects its output. */
function runOnHost(
  network: HostNetwork,
  host: Host,
  command: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [ip, ...args] = [...network.commandPrefix(host), ...command];
  const child = spawn(ip!, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function waitForRedis(url: string, server: ChildProcess): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  const deadline = Date.now() + REDIS_READY_TIMEOUT_MS;
  try {
    while (Date.now() < deadline) {
      if (server.exitCode !== null) throw new Error(`redis-server exited with code ${server.exitCode}`);
      try {
        if (client.status !== 'ready') await client.connect();
        if ((await client.ping()) === 'PONG') return;
      } catch {
        client.disconnect();
        await sleep(50);
      }
    }
    throw new Error(`redis at ${url} did not answer within ${REDIS_READY_TIMEOUT_MS} ms`);
  } finally {
    client.disconnect();
  }
}
