import type { Socket } from 'node:net';
import type { Redis } from 'ioredis';
import { connectRedis, decodeGatewayEvent, disconnectRedis, keysFor, WaitReport, type Keys } from '@follower-maze/shared';
import { SingleRedisFeed } from '../../src/delivery-feed.ts';
import { GatewayPresence } from '../../src/gateway-presence.ts';
import { ProgressReporter } from '../../src/progress-reporter.ts';
import { UserSessions } from '../../src/user-sessions.ts';
import { deletePrefix, silentLogger, TEST_REDIS_URL, testRedis, uniquePrefix } from '../../../../test/support/redis-fixture.ts';

/** Heartbeats are sent by the test itself, never by the timer. */
const NO_TIMER_MS = 3_600_000;
/** Reconnects at once, so that a test can drop a connection without waiting out ioredis's back-off. */
const RECONNECT_DELAY_MS = 5;

/**
 * A gateway's sessions, presence and heartbeat on real Redis connections, below the
 * socket layer: any object stands for a client socket. Also records what the gateway
 * tells the sequencer on the gateway-events channel (joins and leaves, in order).
 */
export class PresenceStack {
  readonly joinsAndLeaves: { kind: 'join' | 'leave'; userId: number }[] = [];
  readonly sessions: UserSessions;
  readonly progress: ProgressReporter;
  readonly presenceKey: string;

  private constructor(
    readonly keys: Keys,
    /** The gateway's command connection. */
    readonly redis: Redis,
    readonly subscriber: Redis,
    private readonly listener: Redis,
    private readonly waits: WaitReport,
    private readonly prefix: string,
    readonly gatewayId: string,
  ) {
    const presence = new GatewayPresence(redis, keys, gatewayId, waits);
    this.sessions = new UserSessions(new SingleRedisFeed(subscriber, keys), presence, keys);
    const idle = { clients: 0, unsentBytes: 0, notificationsWritten: 0 };
    this.progress = new ProgressReporter(redis, keys, gatewayId, presence, NO_TIMER_MS, NO_TIMER_MS, waits, () => idle);
    this.presenceKey = keys.presence(gatewayId);
  }

  static async start(name: string): Promise<PresenceStack> {
    const prefix = uniquePrefix(name);
    const keys = keysFor(prefix);
    const options = { retryStrategy: () => RECONNECT_DELAY_MS, autoResubscribe: false };
    const redis = connectRedis({ redisUrl: TEST_REDIS_URL }, `${name}-commands`, silentLogger, options);
    const subscriber = connectRedis({ redisUrl: TEST_REDIS_URL }, `${name}-subscriber`, silentLogger, options);
    const listener = testRedis();
    const waits = new WaitReport(redis, keys, name, silentLogger);
    const stack = new PresenceStack(keys, redis, subscriber, listener, waits, prefix, `${name}-gateway`);
    listener.on('message', (_channel: string, message: string) => {
      const event = decodeGatewayEvent(message);
      if (event?.kind !== 'join' && event?.kind !== 'leave') return;
      for (const userId of event.userIds) stack.joinsAndLeaves.push({ kind: event.kind, userId });
    });
    await listener.subscribe(keys.gatewayEvents);
    await Promise.all([redis.ping(), subscriber.ping()]);
    return stack;
  }

  /** A stand-in for a client socket: sessions only keep it in a set. */
  static client(): Socket {
    return {} as Socket;
  }

  /** The users each of whose last join or leave message was a join: the sequencer's view by push. */
  onlineByMessages(): Set<number> {
    const online = new Set<number>();
    for (const { kind, userId } of this.joinsAndLeaves) {
      if (kind === 'join') online.add(userId);
      else online.delete(userId);
    }
    return online;
  }

  /** Drops the gateway's command connection, as a network fault or Redis restart would; resolves once it is back. */
  async dropCommandConnection(): Promise<void> {
    const back = new Promise((resolve) => this.redis.once('ready', resolve));
    this.redis.disconnect(true);
    await back;
  }

  async stop(): Promise<void> {
    this.progress.close();
    this.waits.close();
    this.listener.disconnect();
    this.subscriber.disconnect();
    await disconnectRedis(this.redis);
    const cleaner = testRedis();
    await deletePrefix(cleaner, this.prefix);
    cleaner.disconnect();
  }
}
