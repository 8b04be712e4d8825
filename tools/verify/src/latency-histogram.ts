/** Buckets per factor e of latency: about 1% relative resolution. */
const BUCKETS_PER_E_FOLD = 100;
/** Latencies above ~20 minutes land in the last bucket. */
const MAX_LATENCY_US = 1.2e9;
const BUCKET_COUNT = Math.ceil(Math.log1p(MAX_LATENCY_US) * BUCKETS_PER_E_FOLD) + 1;

/**
 * Log-scaled histogram of latencies: constant memory however many samples a
 * long run records, at the price of ~1% error on the reported percentiles.
 */
export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKET_COUNT);
  private total = 0;

  get samples(): number {
    return this.total;
  }

  record(latencyMs: number): void {
    const microseconds = Math.min(Math.max(latencyMs * 1000, 0), MAX_LATENCY_US);
    this.counts[Math.floor(Math.log1p(microseconds) * BUCKETS_PER_E_FOLD)]!++;
    this.total++;
  }

  /** The latency (ms) below which `quantile` (0..1) of the samples fall; 0 without samples. */
  percentileMs(quantile: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil(quantile * this.total));
    let seen = 0;
    for (let bucket = 0; bucket < BUCKET_COUNT; bucket++) {
      seen += this.counts[bucket]!;
      if (seen >= rank) return Math.expm1((bucket + 0.5) / BUCKETS_PER_E_FOLD) / 1000;
    }
    return MAX_LATENCY_US / 1000;
  }
}
