import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type CollectFunction } from 'prom-client';
import type { RedisClient as Redis } from './redis.ts';
import { EventLoopDelay } from './event-loop-delay.ts';
import type { Logger } from './logger.ts';

/**
 * The metrics of one service process, in a registry of its own rather than prom-client's
 * global one: services started side by side in one process (as the tests start them)
 * keep their figures apart. Metrics are created on first use and shared after: a
 * sequencer's counters outlive its terms, each of which counts into the same series.
 * Our names start with `fm_`; Node's process metrics (`process_*`, `nodejs_*`) keep their
 * standard names, which dashboards expect.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly reconnects: Counter<'connection'>;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.reconnects = this.counter(
      'fm_redis_reconnects_total', 'Times a Redis connection of this process was established again after it was lost.', ['connection'],
    );
  }

  counter<Label extends string = never>(name: string, help: string, labelNames: readonly Label[] = []): Counter<Label> {
    return this.existing<Counter<Label>>(name) ?? new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  /** A gauge read when scraped, from `read` (a value, or labelled values). */
  gauge<Label extends string = never>(
    name: string, help: string, read: (gauge: Gauge<Label>) => void, labelNames: readonly Label[] = [],
  ): Gauge<Label> {
    const collect: CollectFunction<Gauge<Label>> = function collect(this: Gauge<Label>) {
      read(this);
    };
    return this.existing<Gauge<Label>>(name) ?? new Gauge({ name, help, labelNames, collect, registers: [this.registry] });
  }

  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    return this.existing<Histogram>(name) ?? new Histogram({ name, help, buckets: [...buckets], registers: [this.registry] });
  }

  /**
   * Counts the connection's reconnections under `connection` (a role such as `subscriber`,
   * not the connection's full name: a series per process id would never end).
   */
  watchRedis(redis: Redis, connection: string): void {
    const reconnects = this.reconnects.labels(connection);
    reconnects.inc(0);
    let connectedBefore = false;
    redis.on('ready', () => {
      if (connectedBefore) reconnects.inc();
      connectedBefore = true;
    });
  }

  /** The text a Prometheus scrape receives. */
  exposition(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private existing<T>(name: string): T | undefined {
    return this.registry.getSingleMetric(name) as T | undefined;
  }
}

/** Where one named counter is exported: a Prometheus counter, and its labels when several counters share it. */
export interface CounterSpec {
  readonly metric: string;
  readonly help: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export type CounterSpecs<Name extends string> = Readonly<Record<Name, CounterSpec>>;

/**
 * Named counters of one service: the one place where it counts. Each addition goes to
 * the counter's Prometheus series as well, so that the counters line in the log and the
 * metrics endpoint are the same figures; `get` and `snapshot` give this object's own
 * totals (a sequencer's per term, while its series run on across terms).
 */
export class Counters<Name extends string> {
  private readonly values = new Map<Name, number>();
  private readonly series = new Map<Name, { inc(amount: number): void }>();

  constructor(metrics: ServiceMetrics, specs: CounterSpecs<Name>) {
    for (const [name, spec] of Object.entries(specs) as [Name, CounterSpec][]) {
      const labels = spec.labels ?? {};
      const counter = metrics.counter(spec.metric, spec.help, Object.keys(labels));
      const child = Object.keys(labels).length > 0 ? counter.labels(labels) : counter;
      // Every series exists from the start, at 0: rate() over a series that appears with its first event misses that event.
      child.inc(0);
      this.series.set(name, child);
    }
  }

  add(name: Name, amount = 1): void {
    this.values.set(name, (this.values.get(name) ?? 0) + amount);
    this.series.get(name)!.inc(amount);
  }

  get(name: Name): number {
    return this.values.get(name) ?? 0;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.values);
  }
}

/**
 * Logs the counters every `intervalMs` when they changed since the last line (an idle
 * service stays quiet), with how long the event loop was held up since that last line.
 */
export function logCountersEvery(counters: Counters<string>, intervalMs: number, logger: Logger): () => void {
  const eventLoop = new EventLoopDelay();
  let logged = JSON.stringify({});
  const timer = setInterval(() => {
    const snapshot = counters.snapshot();
    const text = JSON.stringify(snapshot);
    if (text === logged) return;
    logged = text;
    logger.info({ counters: snapshot, eventLoopDelay: eventLoop.take() }, 'counters');
  }, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    eventLoop.close();
  };
}
