import { mkdtempSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keysFor } from '@follower-maze/shared';
import { freePorts } from '../../tools/stack/src/free-ports.ts';
import { Stack } from '../../tools/stack/src/stack.ts';
import { silentLogger } from './redis-fixture.ts';
import { StackFixture } from './stack-fixture.ts';

const HOST = '127.0.0.1';
const KEY_PREFIX = 'fm';

export interface OnePortStackOptions {
  /** Gateway worker processes behind the one client port (GATEWAYS). */
  readonly workers: number;
  /** Default 1. */
  readonly sequencers?: number;
  /** Extra environment of every service. */
  readonly env?: NodeJS.ProcessEnv;
}

/** A gateway worker process, as it announces itself. */
export interface GatewayWorker {
  readonly gatewayId: string;
  readonly pid: number;
}

/**
 * The stack as `GATEWAYS=N npm start` serves user clients: a single gateway service on
 * one client port, running N worker processes behind it (Node's cluster module: the
 * primary accepts each connection and hands it to a worker, and starts a worker that
 * dies again). StackFixture gives each gateway a port of its own instead. Otherwise the
 * same: a private redis-server, supervised processes, the services' log in one file.
 */
export class OnePortStackFixture extends StackFixture {
  static async startOnePort(options: OnePortStackOptions): Promise<OnePortStackFixture> {
    const dir = mkdtempSync(join(tmpdir(), 'fm-stack-'));
    const [redisPort, eventPort, clientPort] = await freePorts(3);
    const logFd = openSync(join(dir, 'services.log'), 'a');
    const stack = new Stack({
      redisPort: redisPort!,
      dataDir: join(dir, 'redis'),
      env: {
        KEY_PREFIX, EVENT_PORT: String(eventPort), CLIENT_PORT: String(clientPort), GATEWAYS: String(options.workers),
        LISTEN_HOST: HOST, LOG_LEVEL: 'info', SEQUENCER_TRIM_INTERVAL_MS: '500', ...options.env,
      },
      sequencers: options.sequencers ?? 1,
      stdio: ['ignore', logFd, logFd],
      restart: true,
    }, silentLogger);
    return new OnePortStackFixture(
      await OnePortStackFixture.started(stack, { dir, logFd, eventPort: eventPort!, gatewayPorts: [clientPort!], redisCluster: undefined }, options.workers),
    );
  }

  /** The one port every user client connects to. */
  get clientPort(): number {
    return this.gatewayPorts[0]!;
  }

  /** The gateway workers that have a heartbeat in Redis (a gateway id carries its pid: `<host>-<pid>-<random>`). */
  async workers(): Promise<GatewayWorker[]> {
    const gatewayIds = await this.redis.hkeys(keysFor(this.keyPrefix).gateways);
    return gatewayIds.map((gatewayId) => ({ gatewayId, pid: Number(gatewayId.split('-').at(-2)) }));
  }

  /** The users each gateway holds, as the gateways' presence sets in Redis say (a dead gateway's until it is forgotten). */
  async usersByGateway(): Promise<Map<string, Set<number>>> {
    const keys = keysFor(this.keyPrefix);
    const users = new Map<string, Set<number>>();
    for (const { gatewayId } of await this.workers()) {
      users.set(gatewayId, new Set((await this.redis.smembers(keys.presence(gatewayId))).map(Number)));
    }
    return users;
  }
}
