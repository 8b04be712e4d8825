import type { Logger } from './logger.ts';

/** Least time between two lines of one repeated warning. */
export const WARNING_INTERVAL_MS = 5000;

/**
 * A warning that can repeat many times a second (an outage, a flood of bad input, a
 * library retrying in a loop) becomes one line per interval, with the count of the
 * repeats it stands for.
 */
export class ThrottledWarning {
  private lastLoggedMs = -Infinity;
  private repeated = 0;

  constructor(
    private readonly logger: Logger,
    private readonly message: string,
    private readonly intervalMs = WARNING_INTERVAL_MS,
  ) {}

  warn(fields: Record<string, unknown> = {}): void {
    const now = Date.now();
    if (now - this.lastLoggedMs < this.intervalMs) {
      this.repeated++;
      return;
    }
    this.logger.warn(this.repeated > 0 ? { ...fields, repeatedSinceLastLine: this.repeated } : fields, this.message);
    this.lastLoggedMs = now;
    this.repeated = 0;
  }
}
