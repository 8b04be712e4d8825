import { EventLoopDelay } from './event-loop-delay.ts';
import type { Logger } from './logger.ts';

/** Named counters of one service, logged periodically so an operator sees rates without a log line per event. */
export class Counters<Name extends string> {
  private readonly values = new Map<Name, number>();

  add(name: Name, amount = 1): void {
    this.values.set(name, (this.values.get(name) ?? 0) + amount);
  }

  get(name: Name): number {
    return this.values.get(name) ?? 0;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.values);
  }
}

/** Logs the counters, and how long the event loop was held up meanwhile, every `intervalMs` until stopped. */
export function logCountersEvery(counters: Counters<string>, intervalMs: number, logger: Logger): () => void {
  const eventLoop = new EventLoopDelay();
  const timer = setInterval(() => logger.info({ counters: counters.snapshot(), eventLoopDelay: eventLoop.take() }, 'counters'), intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    eventLoop.close();
  };
}
