/**
 * A scheduler pass run at start and every `intervalMs`, on every replica (each pass is safe to run
 * on several at once). A pass asked for while one runs joins it instead of starting a second;
 * `close` stops the timer and waits for the pass in progress.
 */
export abstract class PeriodicPass<T> {
  private timer: NodeJS.Timeout | null = null
  private retry: NodeJS.Timeout | null = null
  private running: Promise<T> | null = null

  constructor(private readonly intervalMs: number) {}

  /** A first pass now, in the background, then one every interval; nothing when the pass is turned off. */
  start(): void {
    if (!this.enabled()) return
    void this.runOnce()
    this.timer = setInterval(() => void this.runOnce(), this.intervalMs)
    this.timer.unref()
  }

  runOnce(): Promise<T> {
    this.running ??= this.pass().finally(() => (this.running = null))
    return this.running
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    if (this.retry) clearTimeout(this.retry)
    this.timer = this.retry = null
    await this.running
  }

  /** One more pass `ms` from now (a failed one tried again sooner than the interval), once started and unless one is already set. */
  protected retryIn(ms: number): void {
    if (!this.timer || this.retry) return
    this.retry = setTimeout(() => {
      this.retry = null
      void this.runOnce()
    }, ms)
    this.retry.unref()
  }

  /** False: configured off (a retention of 0 days), so start() sets no timer. */
  protected enabled(): boolean {
    return true
  }

  /** One pass; it logs its own failure and answers rather than throwing (the timer has no one to tell). */
  protected abstract pass(): Promise<T>
}
