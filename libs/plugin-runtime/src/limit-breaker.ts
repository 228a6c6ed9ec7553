import type Redis from 'ioredis'
import type { PluginLimitKind } from '@plugin-server/plugin-vm'
import { redisKeys } from '@plugin-server/core'

/** STRING per config: limit breaches (time, memory, cpu) across the fleet, expiring a window after the first. */
export function breachesKey(queuePrefix: string, pluginConfigId: number): string {
  return redisKeys(queuePrefix).pluginBreaches(pluginConfigId)
}

// INCR and PEXPIRE in one step, so a crash between the two never leaves a count that never expires.
const RECORD = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return count
`

export interface BreakerSettings {
  /** Breaches within the window that disable the config (PLUGIN_BREAKER_MAX_BREACHES). */
  maxBreaches: number
  /** PLUGIN_BREAKER_WINDOW_MS. */
  windowMs: number
}

/**
 * The circuit breaker's count: every worker adds its breaches of a config to one Redis counter, so
 * a plugin that breaches once per worker is caught as quickly as one that breaches on one worker.
 */
export class LimitBreaker {
  constructor(
    private readonly redis: Redis,
    private readonly queuePrefix: string,
    readonly settings: BreakerSettings,
  ) {}

  /** Counts one breach; the number of breaches in the current window, this one included. */
  async record(pluginConfigId: number): Promise<number> {
    return Number(await this.redis.eval(RECORD, 1, breachesKey(this.queuePrefix, pluginConfigId), String(this.settings.windowMs)))
  }

  tripped(count: number): boolean {
    return count >= this.settings.maxBreaches
  }

  /** Starts the count again (the config was disabled; re-enabling it gives it a clean slate). */
  async reset(pluginConfigId: number): Promise<void> {
    await this.redis.del(breachesKey(this.queuePrefix, pluginConfigId))
  }

  /** Why the config was disabled, for its users: `plugin disabled by the server: exceeded its time limit 3 times in 10 minutes (last: …)`. */
  reason(kind: PluginLimitKind, count: number, lastMessage: string): string {
    return `plugin disabled by the server: exceeded its ${kind} limit ${count} times in ${describeWindow(this.settings.windowMs)} (last: ${lastMessage})`
  }
}

function describeWindow(ms: number): string {
  if (ms % 60_000 === 0) return ms === 60_000 ? '1 minute' : `${ms / 60_000} minutes`
  return `${Math.round(ms / 1000)} seconds`
}
