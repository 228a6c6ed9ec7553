import type { Logger } from '@plugin-server/core'

/** At most one warning per this long: the first eviction warns at once, the ones after are counted. */
export const CROWDED_WARNING_INTERVAL_MS = 5 * 60_000

/**
 * Says when a process evicts live instances only to make room for others (LRU at
 * PLUGIN_MAX_LIVE_INSTANCES): each one is routine, so it is logged at debug only, but a process that
 * keeps doing it sets its plugins up again and again (a scheduler running more configs than its cap
 * re-ran every evicted config's setupPlugin each minute). Warned once, then at most every five
 * minutes with the count since the last warning.
 */
export class CrowdedWarning {
  private evicted = 0
  private warnedAt = -Infinity

  constructor(
    private readonly logger: Logger,
    private readonly maxLiveInstances: number,
    /** The cap now: below PLUGIN_MAX_LIVE_INSTANCES while the resident memory guard holds it lower. */
    private readonly liveCap: () => number = () => maxLiveInstances,
    private readonly now: () => number = Date.now,
  ) {}

  evictedToMakeRoom(): void {
    this.evicted++
    if (this.now() - this.warnedAt < CROWDED_WARNING_INTERVAL_MS) return
    const first = this.warnedAt === -Infinity
    this.warnedAt = this.now()
    const cap = this.liveCap()
    const evicted = `${this.evicted} live plugin instance${this.evicted === 1 ? '' : 's'} evicted ${first ? 'so far' : 'in the last minutes'} to make room for others: `
    this.logger.warn(
      { evicted: this.evicted, max_live_instances: this.maxLiveInstances, live_cap: cap },
      cap < this.maxLiveInstances
        ? evicted +
            `this process uses more plugin configs than the ${cap} it keeps live while over PLUGIN_RSS_LIMIT_MB (PLUGIN_MAX_LIVE_INSTANCES ${this.maxLiveInstances}), so each is set up again on its next use. ` +
            "Raise the pod's memory limit, or spread the configs over more processes (schedulers: SCHEDULER_SHARDS)"
        : evicted +
            `this process uses more plugin configs than PLUGIN_MAX_LIVE_INSTANCES (${this.maxLiveInstances}), so each is set up again on its next use. ` +
            'Raise PLUGIN_MAX_LIVE_INSTANCES, or spread the configs over more processes (schedulers: SCHEDULER_SHARDS)',
    )
    this.evicted = 0
  }
}
