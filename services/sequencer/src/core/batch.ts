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

  deliver(userId: number, payload: string): void {
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
}
