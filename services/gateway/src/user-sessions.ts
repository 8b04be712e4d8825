import type { Socket } from 'node:net';
import type { Redis } from 'ioredis';
import type { Keys } from '@follower-maze/shared';
import { chunksOf } from './chunks.ts';
import type { GatewayPresence } from './gateway-presence.ts';

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
    private readonly presence: GatewayPresence,
    private readonly keys: Keys,
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
      session = {
        userId, sockets: new Set(), lastSeq: 0, joinedAfterBatch: currentBatch, joined: this.join(channel, userId),
        restart() {
          this.lastSeq = 0;
          this.joinedAfterBatch = 0;
        },
      };
      this.byChannel.set(channel, session);
    }
    session.sockets.add(socket);
    await session.joined;
  }

  /** Settles once the user's leave is written, when this was the user's last client; rejects when Redis refused it. */
  remove(userId: number, socket: Socket): Promise<void> {
    const channel = this.keys.userChannel(userId);
    const session = this.byChannel.get(channel);
    if (!session?.sockets.delete(socket) || session.sockets.size > 0) return Promise.resolve();
    this.byChannel.delete(channel);
    // Even after a failed join: it may have subscribed, or been written before it failed.
    return session.joined.catch(() => undefined).then(() => this.leave(channel, userId));
  }

  /**
   * Subscribes every user's channel again after the subscriber connection came back, a
   * chunk per command, all issued at once: a user who leaves meanwhile is unsubscribed
   * after them.
   */
  resubscribe(): Promise<unknown> {
    const channels = Array.from(this.byChannel.keys());
    return Promise.all(Array.from(chunksOf(channels), (chunk) => this.subscriber.subscribe(...chunk)));
  }

  private async join(channel: string, userId: number): Promise<void> {
    await this.subscriber.subscribe(channel);
    await this.presence.join(userId);
  }

  private async leave(channel: string, userId: number): Promise<void> {
    // The user may have come back while the join was settling.
    if (this.byChannel.has(channel)) return;
    try {
      await this.presence.leave(userId);
    } finally {
      if (!this.byChannel.has(channel)) await this.subscriber.unsubscribe(channel);
    }
  }
}
