/** Enough to diagnose a run without flooding the report when a server is badly broken. */
const MAX_REPORTED_FAILURES = 20;

/**
 * Keeps the first few failure messages and counts the rest. Messages are
 * built lazily so that a flood of failures costs a counter increment each.
 */
export class FailureLog {
  private readonly messages: string[] = [];
  private total = 0;

  get count(): number {
    return this.total;
  }

  record(describe: () => string): void {
    this.total++;
    if (this.messages.length < MAX_REPORTED_FAILURES) this.messages.push(describe());
  }

  /** The kept messages, plus a note of how many were left out. */
  summary(): string[] {
    const omitted = this.total - this.messages.length;
    return omitted > 0 ? [...this.messages, `... and ${omitted} more failures`] : [...this.messages];
  }
}
