import assert from 'node:assert/strict';
import { pino } from 'pino';
import { decodeGatewayEvent, keysFor, type GatewayEvent, type Logger } from '@follower-maze/shared';
import { startGatewayService, type GatewayService } from '../../src/gateway-service.ts';
import { deletePrefix, eventually, silentLogger, testConfig, testRedis, uniquePrefix } from '../../../../test/support/redis-fixture.ts';
import { TcpPeer } from '../../../../test/support/tcp-peer.ts';

/** A logger that keeps its warnings, to check what was logged and how often. */
export function recordingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

/** A gateway event as the tests look at it: a packed join or leave stands for one event per user. */
export type UserEvent =
  | Extract<GatewayEvent, { kind: 'ack' | 'gone' }>
  | { readonly kind: 'join' | 'leave'; readonly gatewayId: string; readonly userId: number };

function perUser(event: GatewayEvent): UserEvent[] {
  switch (event.kind) {
    case 'join':
    case 'leave':
      return event.userIds.map((userId) => ({ kind: event.kind, gatewayId: event.gatewayId, userId }));
    default:
      return [event];
  }
}

/** Gateways in-process, each with a listener on what it tells the sequencer; `cleanUp` after each test. */
export class GatewayFixture {
  readonly redis = testRedis();
  private readonly cleanups: (() => Promise<void> | void)[] = [];

  async start(name: string, env: NodeJS.ProcessEnv = {}, logger: Logger = silentLogger) {
    const prefix = uniquePrefix(name);
    const keys = keysFor(prefix);
    this.cleanups.push(() => deletePrefix(this.redis, prefix));
    const listener = testRedis();
    const events: UserEvent[] = [];
    listener.on('message', (_channel: string, message: string) => {
      const event = decodeGatewayEvent(message);
      if (event) events.push(...perUser(event));
    });
    await listener.subscribe(keys.gatewayEvents);
    this.cleanups.push(() => listener.disconnect());
    const service: GatewayService = await startGatewayService(testConfig(prefix, env), logger);
    this.cleanups.push(() => service.close());
    const client = async (line: string) => {
      const peer = await TcpPeer.open(service.port);
      this.cleanups.push(() => peer.destroy());
      await peer.write(line);
      return peer;
    };
    const joined = (userId: number) =>
      eventually(() => assert.ok(events.some((e) => e.kind === 'join' && e.userId === userId), `user ${userId} announced`));
    return { keys, service, events, client, joined, gatewayId: service.gateway.gatewayId };
  }

  async cleanUp(): Promise<void> {
    for (const cleanup of this.cleanups.splice(0).reverse()) await cleanup();
  }

  close(): void {
    this.redis.disconnect();
  }
}
