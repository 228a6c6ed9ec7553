import { setWorkerConcurrency } from './bullmq-internals'

/** When a worker's job counts as stuck, and how many stuck jobs may stop counting against its concurrency. */
export interface StuckSlotsOptions {
  /** How long a job runs before it is stuck. */
  afterMs: number
  /** The most stuck jobs that stop counting at once: the worker's extra slots. 0 turns them off. */
  maxExtra: number
}

/**
 * Lends a BullMQ worker one slot more for each of its jobs that has run longer than `afterMs`, up to
 * `maxExtra`, and takes it back when that job ends. A team's share of a worker's slots (its *_TEAM_CONCURRENCY)
 * keeps one team from holding them all, but two teams whose plugins hang, each at its share, held
 * every slot until the plugins' call deadline; now their stuck jobs stop counting and every other
 * team's jobs wait at most `afterMs` behind them. A stuck team's further jobs are still turned away at
 * its share, so the extra slots go to the other teams, and the bound keeps the jobs running at once
 * (their memory, and the CPU of plugins spinning until their deadline) at concurrency + maxExtra.
 * Costs a timer per job, set and cleared; nothing per event. Given to createWorker (core queues.ts).
 */
export class StuckSlots {
  private stuck = 0
  private base = 1
  private maxExtra: number
  private worker: { concurrency: number } | undefined

  constructor(private readonly options: StuckSlotsOptions) {
    this.maxExtra = options.maxExtra
  }

  /** Whether jobs must go through `run`: with no extra slots to lend there is nothing to count. */
  get lends(): boolean {
    return this.maxExtra > 0
  }

  /** The worker whose concurrency follows its stuck jobs; its concurrency now is the base. */
  attach(worker: { concurrency: number }): void {
    this.worker = worker
    this.base = worker.concurrency
  }

  /** New numbers for the worker's own slots and the extra ones (the scheduler's shards are dealt anew). */
  resize(concurrency: number, maxExtra: number): void {
    this.base = concurrency
    this.maxExtra = this.options.maxExtra > 0 ? maxExtra : 0
    this.apply()
  }

  /** Runs one job, counted as stuck from `afterMs` after it started until it ends. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    let counted = false
    const timer = setTimeout(() => {
      counted = true
      this.stuck++
      this.apply()
    }, this.options.afterMs)
    timer.unref()
    try {
      return await work()
    } finally {
      clearTimeout(timer)
      if (counted) {
        this.stuck--
        this.apply()
      }
    }
  }

  private apply(): void {
    if (this.worker) setWorkerConcurrency(this.worker, this.base + Math.min(this.stuck, this.maxExtra))
  }
}
