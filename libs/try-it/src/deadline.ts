/** The whole dry run's time budget; every plugin call gets what is left of it (or less). */
export class Deadline {
  private readonly end: number
  private readonly controller = new AbortController()
  private readonly timer: NodeJS.Timeout

  constructor(readonly ms: number) {
    this.end = Date.now() + ms
    this.timer = setTimeout(() => this.controller.abort(new Error(`the dry run's ${ms} ms deadline passed`)), ms)
    this.timer.unref()
  }

  /** Aborts requests the plugins started, at the deadline or when the run ends, whichever is first. */
  get signal(): AbortSignal {
    return this.controller.signal
  }

  remaining(): number {
    return Math.max(0, this.end - Date.now())
  }

  close(): void {
    clearTimeout(this.timer)
    this.controller.abort(new Error('the dry run has ended'))
  }
}
