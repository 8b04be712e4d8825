/**
 * What one commit carries: each online recipient's notifications in sequence order,
 * and the net change of each follow edge touched (only the last state of an edge
 * within the batch reaches Redis).
 */
export class Batch {
  readonly notifications = new Map<number, string[]>();
  /** to-user -> from-user -> follows after the batch. */
  readonly edgeChanges = new Map<number, Map<number, boolean>>();
  events = 0;
  notificationCount = 0;
  /** Bytes of the notifications on the wire (CRLF included): what the commit publishes, headers aside. */
  notificationBytes = 0;

  deliver(userId: number, payload: string): void {
    this.notificationCount++;
    this.notificationBytes += payload.length + 2;
    const list = this.notifications.get(userId);
    if (list) list.push(payload);
    else this.notifications.set(userId, [payload]);
  }

  changeEdge(from: number, to: number, follows: boolean): void {
    let changes = this.edgeChanges.get(to);
    if (!changes) this.edgeChanges.set(to, (changes = new Map()));
    changes.set(from, follows);
  }

  get isEmpty(): boolean {
    return this.events === 0;
  }

  /** Whether another event may join the batch under the limits; the one that crosses a limit is the last. */
  hasRoom(limits: CommitLimits): boolean {
    return this.events < limits.maxEvents && this.notificationCount < limits.maxNotifications && this.notificationBytes < limits.maxBytes &&
      this.edgeChanges.size < limits.maxFollowKeys;
  }
}

/** The most one commit may carry, so that its script keeps Redis busy only briefly. */
export interface CommitLimits {
  readonly maxEvents: number;
  readonly maxNotifications: number;
  readonly maxBytes: number;
  /**
   * Follow sets (followed users) one commit changes at most. The commit script declares
   * every key it writes (a Redis Cluster routes and checks scripts by their keys), so
   * this bounds its argument count. An event changes at most one set, so the batch never
   * passes it.
   */
  readonly maxFollowKeys: number;
}
