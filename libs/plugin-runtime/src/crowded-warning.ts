import type { Logger } from '@plugin-server/core'
import { CountedWarning } from './counted-warning'

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
  private readonly warning: CountedWarning<null>

  constructor(
    logger: Logger,
    maxLiveInstances: number,
    /** The cap now: below PLUGIN_MAX_LIVE_INSTANCES while the resident memory guard holds it lower. */
    liveCap: () => number = () => maxLiveInstances,
    now: () => number = Date.now,
  ) {
    this.warning = new CountedWarning(
      CROWDED_WARNING_INTERVAL_MS,
      (evicted, first) => {
        const cap = liveCap()
        const lowered = cap < maxLiveInstances
        logger.warn(
          { evicted, max_live_instances: maxLiveInstances, live_cap: cap },
          `${evicted} live plugin instance${evicted === 1 ? '' : 's'} evicted ${first ? 'so far' : 'in the last minutes'} to make room for others: ` +
            `this process uses more plugin configs than ${
              lowered
                ? `the ${cap} it keeps live while over PLUGIN_RSS_LIMIT_MB (PLUGIN_MAX_LIVE_INSTANCES ${maxLiveInstances})`
                : `PLUGIN_MAX_LIVE_INSTANCES (${maxLiveInstances})`
            }, so each is set up again on its next use. ` +
            `${lowered ? "Raise the pod's memory limit" : 'Raise PLUGIN_MAX_LIVE_INSTANCES'}, or spread the configs over more processes (schedulers: SCHEDULER_SHARDS)`,
        )
      },
      now,
    )
  }

  evictedToMakeRoom(): void {
    this.warning.add(1, null)
  }
}
