import type { Socket } from 'node:net';
import type { Redis } from 'ioredis';
import { encodeGatewayEvent, type Keys, type Logger } from '@follower-maze/shared';

/** The clients of one user on this gateway, and the last batch they were sent. */
export interface UserSession {
  readonly userId: number;
  readonly sockets: Set<Socket>;
  /** Sequence number of the last notification written; anything up to it is dropped. */
  lastSeq: number;
  /** The batch this gateway had reached when the user joined: older deliveries are not the user's. */
  joinedAfterBatch: number;
  /** A new sequence (an operator's reset) starts: numbers begin again at 1. */
  restart(): void;
  /** Settles once the user's channel is subscribed and the user announced online. */
  joined: Promise<void>;
  /** True once `joined` has settled successfully. */
  announced: boolean;
}

/**
 * Which users this gateway holds, keyed by their channel. The first client of a user
 * subscribes to the user's channel and then announces the user online (in that order, so
 * nothing routed to the user can miss this gateway); the last one to leave reverses both.
 */
export class UserSessions {
  private readonly byChannel = new Map<string, UserSession>();

  constructor(
    private readonly subscriber: Redis,
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly gatewayId: string,
    private readonly logger: Logger,
  ) {}

  get userCount(): number {
    return this.byChannel.size;
  }

  byChannelName(channel: string): UserSession | undefined {
    return this.byChannel.get(channel);
  }

  byUserId(userId: number): UserSession | undefined {
    return this.byChannel.get(this.keys.userChannel(userId));
  }

  all(): IterableIterator<UserSession> {
    return this.byChannel.values();
  }

  /** Resolves once the user's notifications reach this socket. */
  async add(userId: number, socket: Socket, currentBatch: number): Promise<void> {
    const channel = this.keys.userChannel(userId);
    let session = this.byChannel.get(channel);
    if (!session) {
      const created: UserSession = {
        userId, sockets: new Set(), lastSeq: 0, joinedAfterBatch: currentBatch, joined: Promise.resolve(), announced: false,
        restart() {
          this.lastSeq = 0;
          this.joinedAfterBatch = 0;
        },
      };
      created.joined = this.join(channel, userId).then(() => {
        created.announced = true;
      });
      this.byChannel.set(channel, (session = created));
    }
    session.sockets.add(socket);
    await session.joined;
  }

  remove(userId: number, socket: Socket): void {
    const channel = this.keys.userChannel(userId);
    const session = this.byChannel.get(channel);
    if (!session?.sockets.delete(socket) || session.sockets.size > 0) return;
    this.byChannel.delete(channel);
    void session.joined
      .then(() => this.leave(channel, userId))
      .catch((error: Error) => this.logger.warn({ userId, err: error.message }, 'could not announce a user offline'));
  }

  /** Users announced online (subscribed), for the presence set a heartbeat re-asserts. */
  announcedUsers(): number[] {
    return [...this.byChannel.values()].filter((session) => session.announced).map((session) => session.userId);
  }

  private async join(channel: string, userId: number): Promise<void> {
    await this.subscriber.subscribe(channel);
    await this.redis
      .multi()
      .sadd(this.keys.presence(this.gatewayId), userId)
      .publish(this.keys.gatewayEvents, encodeGatewayEvent({ kind: 'join', gatewayId: this.gatewayId, userId }))
      .exec();
  }

  private async leave(channel: string, userId: number): Promise<void> {
    // The user may have come back while the join was settling.
    if (this.byChannel.has(channel)) return;
    await this.redis
      .multi()
      .srem(this.keys.presence(this.gatewayId), userId)
      .publish(this.keys.gatewayEvents, encodeGatewayEvent({ kind: 'leave', gatewayId: this.gatewayId, userId }))
      .exec();
    if (!this.byChannel.has(channel)) await this.subscriber.unsubscribe(channel);
  }
}
