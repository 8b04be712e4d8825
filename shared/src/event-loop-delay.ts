import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** Sampling period of the delay histogram. */
const RESOLUTION_MS = 10;
const NS_PER_MS = 1e6;

export interface EventLoopDelayFigures {
  readonly p99Ms: number;
  readonly maxMs: number;
}

/**
 * How long this process's event loop was held up, per interval: a sequencer whose loop
 * blocks for a second misses its lease renewals, and a gateway's clients wait as long.
 */
export class EventLoopDelay {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });

  constructor() {
    this.histogram.enable();
  }

  /** p99 and max since the previous call. */
  take(): EventLoopDelayFigures {
    const figures = {
      p99Ms: Math.round(this.histogram.percentile(99) / NS_PER_MS),
      maxMs: Math.round(this.histogram.max / NS_PER_MS),
    };
    this.histogram.reset();
    return figures;
  }

  close(): void {
    this.histogram.disable();
  }
}
