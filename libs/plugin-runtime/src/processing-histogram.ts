import { PROCESSING_TIME_BUCKETS, processingBucketBound, processingBucketField } from './processing-series'

/** Calls per time bucket; histograms of several workers or minutes merge by adding. */
export class ProcessingHistogram {
  private readonly calls = new Array<number>(PROCESSING_TIME_BUCKETS).fill(0)

  static from(values: Record<string, string>): ProcessingHistogram {
    const histogram = new ProcessingHistogram()
    for (let b = 0; b < PROCESSING_TIME_BUCKETS; b++) histogram.calls[b] = Number(values[processingBucketField(b)] ?? 0) || 0
    return histogram
  }

  add(other: ProcessingHistogram): void {
    for (let b = 0; b < PROCESSING_TIME_BUCKETS; b++) this.calls[b] += other.calls[b]
  }

  quantiles(): { p50_ms: number | null; p99_ms: number | null } {
    return { p50_ms: this.quantile(0.5), p99_ms: this.quantile(0.99) }
  }

  /** Interpolated within its bucket on the log scale the buckets follow; exact to within a factor √2. */
  private quantile(q: number): number | null {
    const total = this.calls.reduce((a, b) => a + b, 0)
    if (total === 0) return null
    const rank = q * total
    let seen = 0
    for (let b = 0; b < PROCESSING_TIME_BUCKETS; b++) {
      if (this.calls[b] === 0 || seen + this.calls[b] < rank) {
        seen += this.calls[b]
        continue
      }
      const upper = processingBucketBound(b)
      const fraction = (rank - seen) / this.calls[b]
      const value = b === 0 ? upper * fraction : processingBucketBound(b - 1) * Math.SQRT2 ** fraction
      return Math.round(value * 10) / 10
    }
    return processingBucketBound(PROCESSING_TIME_BUCKETS - 1)
  }
}
