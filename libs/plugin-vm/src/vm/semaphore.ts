/** Bounds concurrent calls inside one isolate; waiters are served in arrival order. */
export class Semaphore {
  private waiters: (() => void)[] = []
  private active = 0

  constructor(private readonly limit: number) {}

  get inFlight(): number {
    return this.active
  }

  async acquire(): Promise<void> {
    if (this.active < this.limit) {
      this.active++
      return
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve))
  }

  release(): void {
    const next = this.waiters.shift()
    if (next) next()
    else this.active--
  }

  /** `fn` within one of the places, given back however it ends. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire()
    try {
      return await fn()
    } finally {
      this.release()
    }
  }
}
