const FIRST_RESTART_DELAY_MS = 250;
const MAX_RESTART_DELAY_MS = 10_000;
/** A process that lived this long is healthy again: its next restart starts from the first delay. */
const HEALTHY_AFTER_MS = 30_000;

/**
 * How long to wait before starting a dead process again: doubled after each quick
 * death, so a crash loop does not spin, and reset once a process has run for a while.
 */
export class RestartBackoff {
  private delayMs = FIRST_RESTART_DELAY_MS / 2;

  /** The delay before the next start of a process that lived `livedMs`. */
  next(livedMs: number): number {
    this.delayMs = livedMs > HEALTHY_AFTER_MS ? FIRST_RESTART_DELAY_MS : Math.min(this.delayMs * 2, MAX_RESTART_DELAY_MS);
    return this.delayMs;
  }
}
