import { EventType, type Event } from './event.ts';

/**
 * Independent model of who must be notified of what. Events must be applied in
 * sequence order; the oracle then tells which connected users receive the
 * event's payload.
 *
 * The set of connected users is fixed before the first event, and users
 * without a client can never be notified. So the oracle only needs to remember
 * follows whose follower is connected: the rest of the graph changes too, but
 * can never be observed in this run.
 */
export class NotificationOracle {
  private readonly connected: Uint8Array;
  private readonly connectedUserIds: readonly number[];
  /** connectedFollowers[u]: connected users who currently follow user u. */
  private readonly connectedFollowers: Array<Set<number> | undefined>;

  constructor(connectedUserIds: readonly number[], numberOfUsers: number) {
    this.connected = new Uint8Array(numberOfUsers + 1);
    for (const id of connectedUserIds) this.connected[id] = 1;
    this.connectedUserIds = [...connectedUserIds];
    this.connectedFollowers = Array.from({ length: numberOfUsers + 1 }, () => undefined);
  }

  /** The largest number of recipients one event can have. */
  get maxRecipients(): number {
    return this.connectedUserIds.length;
  }

  /**
   * Applies the event to the follow graph and writes the user ids to notify
   * into `recipients` (at least maxRecipients long); returns how many there are.
   */
  apply(event: Event, recipients: Uint32Array): number {
    switch (event.type) {
      case EventType.Follow:
        if (this.connected[event.from] === 1) this.followersOf(event.to).add(event.from);
        return this.notifyIfConnected(event.to, recipients);
      case EventType.Unfollow:
        this.connectedFollowers[event.to]?.delete(event.from);
        return 0;
      case EventType.Broadcast:
        recipients.set(this.connectedUserIds);
        return this.connectedUserIds.length;
      case EventType.PrivateMessage:
        return this.notifyIfConnected(event.to, recipients);
      case EventType.StatusUpdate: {
        let count = 0;
        const followers = this.connectedFollowers[event.from];
        if (followers !== undefined) for (const follower of followers) recipients[count++] = follower;
        return count;
      }
    }
  }

  private notifyIfConnected(userId: number, recipients: Uint32Array): number {
    if (this.connected[userId] !== 1) return 0;
    recipients[0] = userId;
    return 1;
  }

  private followersOf(userId: number): Set<number> {
    let followers = this.connectedFollowers[userId];
    if (followers === undefined) {
      followers = new Set();
      this.connectedFollowers[userId] = followers;
    }
    return followers;
  }
}
