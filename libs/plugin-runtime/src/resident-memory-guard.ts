import type { Logger } from '@plugin-server/core'
import type { PluginPool } from '@plugin-server/plugin-vm'
import { CountedWarning } from './counted-warning'
import type { ResidentMemoryMetrics } from './resident-memory-metrics'

/** How often RSS is read (`process.memoryUsage.rss()`: one read of /proc, a few µs). */
export const RSS_CHECK_INTERVAL_MS = 2000
/**
 * After a cut, how long before RSS is judged again: V8 pools a disposed isolate's pages for 8 s, for
 * new isolates to reuse, before it gives them back (300 aged isolates disposed: RSS fell 7–8 s
 * later), and judging before then would cut again for memory already on its way out.
 */
export const RSS_SETTLE_MS = 15_000
/**
 * Each cut keeps at least this share of the live configs fewer, or the share RSS is over the limit
 * by if that is more: a config's share of RSS is less than its share of the configs (the process's
 * own memory, and malloc'd memory kept for the next isolates), so that share never cuts too many.
 */
const CUT_SHARE = 0.1
/**
 * The cap never goes below this share of PLUGIN_MAX_LIVE_INSTANCES: a process still over its limit
 * with so few configs live is holding memory that is not its plugins', which unloading more would
 * not give back, only turn into set-ups; the container's own limit is then the remedy.
 */
const FLOOR_SHARE = 0.1
/** The cap is raised again only while RSS stays under this share of the limit, for RSS_RAISE_AFTER_MS. */
const RAISE_BELOW_SHARE = 0.75
export const RSS_RAISE_AFTER_MS = 5 * 60_000
/** Each raise gives back this share of PLUGIN_MAX_LIVE_INSTANCES. */
const RAISE_SHARE = 0.1
/** At most one warning per this long; the cuts between are counted in it. */
const WARNING_INTERVAL_MS = 5 * 60_000

export interface ResidentMemoryGuardOptions {
  /** PLUGIN_RSS_LIMIT_MB, in bytes (0: the guard does nothing). */
  limitBytes: number
  /** Divides the intervals (TIME_SCALE, for tests). */
  timeScale?: number
  metrics?: ResidentMemoryMetrics
  readRss?: () => number
  now?: () => number
}

type LivePool = Pick<PluginPool<number>, 'size' | 'cap' | 'maxLive' | 'limitLive'>

/**
 * Keeps the process's resident memory under PLUGIN_RSS_LIMIT_MB by keeping fewer configs live. The
 * process memory budget (PLUGIN_PROCESS_MEMORY_LIMIT_MB) counts what plugins put on their heaps; it
 * cannot see what a live isolate holds besides (committed pages, compiled code, its thread's
 * malloc), which grows with its calls (1.75 MB a config at load, ~3 MB after 300 batches). Sized by
 * PLUGIN_MAX_LIVE_INSTANCES alone, a pod whose configs hold more than planned is OOM-killed: every
 * batch and run in flight fails and every config is set up again.
 *
 * Over the limit, the pool's cap is lowered by a tenth of the live configs, or by the share RSS is
 * over the limit if that is more, and idle ones are unloaded (the same order making room uses),
 * then RSS_SETTLE_MS is left for their memory to go back before the next judgement. Under three
 * quarters of the limit for RSS_RAISE_AFTER_MS, the cap goes back up a tenth of
 * PLUGIN_MAX_LIVE_INSTANCES at a time. An unloaded config is set up again on its next use, like one
 * evicted to make room.
 *
 * It acts on a 15 s cycle by design, so growth faster than that overshoots the limit before the
 * cuts catch up: 800 configs just loaded and called 4 400 times a second together (the experiment
 * in the main README, *Memory and start-up per config*) reached 2 194 MB against a 1 600 MB limit
 * before it brought them under it, 75 s later.
 */
export class ResidentMemoryGuard {
  private readonly settleMs: number
  private readonly raiseAfterMs: number
  private readonly readRss: () => number
  private readonly now: () => number
  private changedAt = -Infinity
  private underSince: number | null = null
  private timer: NodeJS.Timeout | undefined
  private checking: Promise<void> | null = null
  /** Counts the configs unloaded between its warnings. */
  private readonly cutWarning: CountedWarning<number>
  private readonly floorWarning: CountedWarning<number>

  constructor(
    private readonly pool: LivePool,
    private readonly logger: Logger,
    private readonly options: ResidentMemoryGuardOptions,
  ) {
    const scale = options.timeScale ?? 1
    this.settleMs = RSS_SETTLE_MS / scale
    this.raiseAfterMs = RSS_RAISE_AFTER_MS / scale
    this.readRss = options.readRss ?? (() => process.memoryUsage.rss())
    this.now = options.now ?? Date.now
    this.cutWarning = new CountedWarning(WARNING_INTERVAL_MS, (unloaded, first, rss) => this.warnCut(unloaded, first, rss), this.now)
    this.floorWarning = new CountedWarning(WARNING_INTERVAL_MS, (_count, _first, rss) => this.warnAtFloor(rss), this.now)
    options.metrics?.limit.set(options.limitBytes)
    options.metrics?.cap.set(pool.cap)
  }

  start(): void {
    if (this.options.limitBytes <= 0 || this.timer) return
    this.timer = setInterval(() => void this.check(), RSS_CHECK_INTERVAL_MS / (this.options.timeScale ?? 1))
    this.timer.unref()
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await this.checking
  }

  /** One reading, and the cut or raise it calls for; a check still under way is joined, not doubled. */
  check(): Promise<void> {
    this.checking ??= this.judge()
      .catch((err: Error) => this.logger.warn({ err: err.message }, 'the resident memory guard failed to change the live configs'))
      .finally(() => (this.checking = null))
    return this.checking
  }

  private async judge(): Promise<void> {
    const { limitBytes } = this.options
    if (limitBytes <= 0) return
    const rss = this.readRss()
    const now = this.now()
    if (rss > limitBytes) {
      this.underSince = null
      if (now - this.changedAt < this.settleMs) return
      await this.cut(rss, now)
    } else if (this.pool.cap < this.pool.maxLive && rss < limitBytes * RAISE_BELOW_SHARE) {
      this.underSince ??= now
      if (now - this.underSince >= this.raiseAfterMs && now - this.changedAt >= this.raiseAfterMs) this.raise(rss, now)
    } else this.underSince = null
  }

  private async cut(rss: number, now: number): Promise<void> {
    const { size, cap, maxLive } = this.pool
    const floor = Math.max(1, Math.ceil(maxLive * FLOOR_SHARE))
    const live = Math.min(size, cap)
    if (live <= floor) return this.floorWarning.add(1, rss)
    this.changedAt = now
    const share = Math.max(CUT_SHARE, (rss - this.options.limitBytes) / rss)
    const unloaded = await this.pool.limitLive(Math.max(floor, live - Math.max(1, Math.ceil(live * share))), 'rss')
    this.options.metrics?.cap.set(this.pool.cap)
    this.options.metrics?.unloaded.inc(unloaded)
    this.cutWarning.add(unloaded, rss)
  }

  private raise(rss: number, now: number): void {
    const { cap, maxLive } = this.pool
    this.changedAt = now
    this.underSince = now
    void this.pool.limitLive(cap + Math.max(1, Math.ceil(maxLive * RAISE_SHARE)), 'rss')
    this.options.metrics?.cap.set(this.pool.cap)
    this.logger.info(
      this.fields(rss),
      `resident memory ${mb(rss)} MB, under PLUGIN_RSS_LIMIT_MB (${mb(this.options.limitBytes)}) for a while: up to ${this.pool.cap} plugin configs kept live again (PLUGIN_MAX_LIVE_INSTANCES ${maxLive})`,
    )
  }

  private warnCut(unloaded: number, first: boolean, rss: number): void {
    const { cap, maxLive } = this.pool
    this.logger.warn(
      { ...this.fields(rss), unloaded },
      `${this.over(rss)}: ${unloaded} idle plugin configs unloaded ${first ? 'so far' : 'in the last minutes'}, and at most ${cap} kept live (PLUGIN_MAX_LIVE_INSTANCES ${maxLive}); each is set up again on its next use. ` +
        "Raise the pod's memory limit, or lower PLUGIN_MAX_LIVE_INSTANCES to what fits (~3.5 MB a config that has run a while) and spread the configs over more processes (schedulers: SCHEDULER_SHARDS)",
    )
  }

  private warnAtFloor(rss: number): void {
    this.logger.warn(
      this.fields(rss),
      `${this.over(rss)} with only ${this.pool.size} plugin configs live, a tenth of PLUGIN_MAX_LIVE_INSTANCES (${this.pool.maxLive}) or fewer: ` +
        "what holds the memory is not the plugins' isolates. Raise the pod's memory limit, or look for the process's own growth",
    )
  }

  private over(rss: number): string {
    return `resident memory ${mb(rss)} MB is over PLUGIN_RSS_LIMIT_MB (${mb(this.options.limitBytes)})`
  }

  private fields(rss: number): Record<string, number> {
    return { rss_mb: mb(rss), rss_limit_mb: mb(this.options.limitBytes), live_cap: this.pool.cap, max_live_instances: this.pool.maxLive }
  }
}

function mb(bytes: number): number {
  return Math.round(bytes / (1024 * 1024))
}
