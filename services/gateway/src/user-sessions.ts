import type { Socket } from 'node:net';
import type { Keys } from '@follower-maze/shared';
import type { DeliveryFeed } from './delivery-feed.ts';
import type { GatewayPresence } from './gateway-presence.ts';
import { TickBatch } from './tick-batch.ts';

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

/** A user on its way in or out, with its channel. */
interface Move {
  readonly channel: string;
  readonly userId: number;
}

/**
 * Which users this gateway holds, keyed by their channel. The first client of a user
 * subscribes to the user's channel and then announces the user online (in that order, so
 * nothing routed to the user can miss this gateway); the last one to leave reverses both.
 *
 * Joins and leaves of one turn of the event loop go together (see TickBatch): one
 * SUBSCRIBE for the turn's new users (on a Redis Cluster, one SSUBSCRIBE per slot among
 * them, see ShardedFeed) and one presence write announcing them all, and likewise for
 * leaves, so that thousands of clients connecting at once are routable within
 * milliseconds rather than queued behind a command or two each.
 */
export class UserSessions {
  private readonly byChannel = new Map<string, UserSession>();
  private readonly joins = new TickBatch<Move>((users) => this.join(users));
  private readonly leaves = new TickBatch<Move>((users) => this.leave(users));

  constructor(
    private readonly feed: DeliveryFeed,
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
        userId, sockets: new Set(), lastSeq: 0, joinedAfterBatch: currentBatch, joined: this.joins.add({ channel, userId }),
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
    return session.joined.catch(() => undefined).then(() => this.leaves.add({ channel, userId }));
  }

  /** Subscribes every user's channel, and the batch-end channels, again after a drop of the feed. */
  resubscribe(): Promise<void> {
    return this.feed.resubscribe(Array.from(this.byChannel.keys()));
  }

  private async join(users: Move[]): Promise<void> {
    await this.feed.subscribe(users.map(({ channel }) => channel));
    await this.presence.join(users.map(({ userId }) => userId));
  }

  private async leave(users: Move[]): Promise<void> {
    // A user may have come back while its join was settling.
    const gone = users.filter(({ channel }) => !this.byChannel.has(channel));
    if (gone.length === 0) return;
    try {
      await this.presence.leave(gone.map(({ userId }) => userId));
    } finally {
      // Or while its leave was written.
      const channels = gone.filter(({ channel }) => !this.byChannel.has(channel)).map(({ channel }) => channel);
      if (channels.length > 0) await this.feed.unsubscribe(channels);
    }
  }
}
