/** Callers waiting for something to happen, all woken at once when it does. */
export class Waiters {
  private waiting: (() => void)[] = [];

  /** Resolves at the next `wakeAll()`, or after `timeoutMs` when one is given. */
  wait(timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = timeoutMs === undefined ? undefined : setTimeout(resolve, timeoutMs);
      this.waiting.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  wakeAll(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const wake of waiting) wake();
  }
}
