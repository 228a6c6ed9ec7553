/**
 * A token bucket per API token, in this capture process: `perSecond` events a second on average,
 * up to `burst` at once. With several capture replicas each enforces it on its own share of the
 * traffic, so the fleet-wide limit is roughly replicas × perSecond.
 */
export class TokenRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; updated: number }>()
  private readonly burst: number

  constructor(
    private readonly perSecond: number,
    burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.burst = burst > 0 ? burst : perSecond * 10
  }

  get enabled(): boolean {
    return this.perSecond > 0
  }

  /**
   * Takes `events` from the token's bucket; false (taking nothing) when there are not enough. A request
   * of more events than the burst is let through when the bucket is full, leaving it in debt for what
   * it took beyond: it could never pass otherwise (posthog-js never retries a 429, posthog-node drops
   * the batch after three), and the debt keeps the average at `perSecond`. The debt is at most one
   * burst: the token is public, and one request of 100 000 tiny events would otherwise have refused
   * every later request of its project for hours.
   */
  take(token: string, events: number): boolean {
    if (!this.enabled) return true
    const bucket = this.refilled(token)
    if (bucket.tokens < Math.min(events, this.burst)) return false
    bucket.tokens = Math.max(-this.burst, bucket.tokens - events)
    return true
  }

  /**
   * Gives back what `take` took for a request that then stored nothing (refused as too large, or the
   * queue failed): its client's retry is charged instead. Exact: the debt floor only binds when the
   * bucket was full, and a full bucket is what the refund's cap restores.
   */
  refund(token: string, events: number): void {
    if (!this.enabled) return
    const bucket = this.refilled(token)
    bucket.tokens = Math.min(this.burst, bucket.tokens + events)
  }

  /** The token's bucket, refilled for the time since it was last touched. */
  private refilled(token: string): { tokens: number; updated: number } {
    const now = this.now()
    const bucket = this.buckets.get(token) ?? { tokens: this.burst, updated: now }
    // Date.now steps back with the wall clock (NTP, a restored VM): a step of an hour read as −1 h refused the token for an hour.
    bucket.tokens = Math.min(this.burst, bucket.tokens + (Math.max(0, now - bucket.updated) / 1000) * this.perSecond)
    bucket.updated = now
    if (this.buckets.size > 100_000) this.buckets.clear()
    this.buckets.set(token, bucket)
    return bucket
  }
}
