/**
 * How long after a reconnecting client sent its id line again the notifications
 * expected for it may still be lost: the server routes to a user only from the moment
 * it has read the id line, and the new gateway may take a moment to read it. Only a
 * client that receives nothing at all after reconnecting depends on this margin; once
 * it receives a notification, that notification marks where its new connection began.
 */
export const REJOIN_SETTLE_MS = 1000;

/**
 * The notifications a reconnecting client may legitimately never receive: those still
 * expected when the server closed its connection (lost in flight), those expected while
 * it was offline (the protocol drops them), and those expected until shortly after it
 * sent its id line again. They are the head of its expected queue, `size` entries
 * long, and they do not count as outstanding, so that neither the timeout nor the end
 * of the run waits for them. The window closes at the first notification the client
 * receives on its new connection.
 */
export class RejoinWindow {
  private isOpen = false;
  /** Leading entries of the expected queue that may have been lost. */
  size = 0;
  private settleUntil = Infinity;

  get open(): boolean {
    return this.isOpen;
  }

  /** The connection was closed with `pending` notifications expected: all of them may be lost. */
  openWith(pending: number): void {
    this.isOpen = true;
    this.size = pending;
    this.settleUntil = Infinity;
  }

  /** The id line went out again at `at`; notifications expected from REJOIN_SETTLE_MS later on must arrive. */
  identified(at: number): void {
    if (this.isOpen) this.settleUntil = at + REJOIN_SETTLE_MS;
  }

  /** Whether a notification expected at `now` joins the window (may be lost). */
  admits(now: number): boolean {
    return now < this.settleUntil;
  }

  close(): void {
    this.isOpen = false;
    this.size = 0;
  }
}
