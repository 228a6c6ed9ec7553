import { randomBytes } from 'node:crypto'
import os from 'node:os'
import type Redis from 'ioredis'
import type { Logger } from '@plugin-server/core'
import { redisKeys } from '@plugin-server/core'

/** A config's setup as one process sees it; `failed`: the plugin could not even be loaded (tried again on next use). */
export type SetupStatus = 'pending' | 'ready' | 'retrying' | 'failed' | 'disabled'

export interface PublishedSetupState {
  status: SetupStatus
  /** setupPlugin attempts so far (for `ready`: how many it took). */
  attempts: number
  /** Epoch ms of the next attempt while retrying. */
  nextAttemptAt: number | null
  /** Already redacted of the config's secret values. */
  lastError: string | null
  /** Epoch ms the state last changed. */
  updatedAt: number
  /** Epoch ms the process last wrote it: unchanged states are written again now and then, so a live process is told from a dead one. */
  seenAt: number
  /** The plugin methods the loaded code exports (absent until it is loaded): the admin UI shows the Export panel only for exporters. */
  methods?: readonly string[]
}

type StateChange = Omit<PublishedSetupState, 'updatedAt' | 'seenAt'>

/** How often a process writes its unchanged states again, and when a state not written for long counts as left by a dead process. */
export const SETUP_STATE_REFRESH_MS = 15 * 60 * 1000
export const SETUP_STATE_STALE_MS = 4 * SETUP_STATE_REFRESH_MS
/** The whole hash goes a day after the last write by any process (every config was unloaded or the fleet stopped). */
export const SETUP_STATE_TTL_MS = 25 * 3600 * 1000

/**
 * KEYS[1]: a config's setup-state hash; ARGV[1]: epoch ms. Deletes the fields whose state was last
 * written before it (seenAt, or updatedAt for a state written before seenAt existed) or does not
 * parse. A few fields per config (one per live worker that loaded it), so one pass is cheap.
 */
const PRUNE_STALE = `
local fields = redis.call('HGETALL', KEYS[1])
local oldest = tonumber(ARGV[1])
for i = 1, #fields, 2 do
  local ok, state = pcall(cjson.decode, fields[i + 1])
  local seen = ok and type(state) == 'table' and (tonumber(state.seenAt) or tonumber(state.updatedAt)) or nil
  if seen == nil or seen < oldest then redis.call('HDEL', KEYS[1], fields[i]) end
end
return 0
`

/** HASH per config: process instance id → JSON PublishedSetupState. */
export function setupStateKey(queuePrefix: string, pluginConfigId: number): string {
  return redisKeys(queuePrefix).setupState(pluginConfigId)
}

/**
 * Publishes one process's setup states to Redis, where the admin API reads them: each process
 * writes its own hash field, so a worker that never needed a config (still `pending`) does not
 * hide another's `retrying`. Writes happen on a change (and a periodic refresh), never fail the
 * caller, and are cleared when the config is unloaded or the process stops.
 */
export class SetupStatePublisher {
  private readonly instanceId = `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`
  private readonly last = new Map<number, { signature: string; value: PublishedSetupState }>()
  private readonly writes = new Set<Promise<unknown>>()
  /** States published in this turn of the event loop, written together: 1 000 configs loading at once are one MULTI, not 1 000. */
  private queued = new Map<number, PublishedSetupState>()
  private warned = false

  constructor(
    private readonly redis: Redis,
    private readonly queuePrefix: string,
    private readonly logger: Logger,
  ) {}

  publish(pluginConfigId: number, state: StateChange): void {
    const signature = JSON.stringify(state)
    if (this.last.get(pluginConfigId)?.signature === signature) return
    const now = Date.now()
    const value: PublishedSetupState = { ...state, updatedAt: now, seenAt: now }
    this.last.set(pluginConfigId, { signature, value })
    if (this.queued.size === 0) setImmediate(() => this.flush())
    this.queued.set(pluginConfigId, value)
  }

  private flush(): void {
    if (this.queued.size === 0) return
    const states = [...this.queued]
    this.queued = new Map()
    this.write(states)
  }

  /**
   * Writes again the states not written for a while (called on every reconcile; cheap when nothing
   * is due), and drops from those configs' hashes the fields of processes that stopped writing
   * theirs: a worker killed (SIGKILL, out of memory, its node lost) never cleared its own, and while
   * live ones keep the hash from expiring, every unclean exit would leave a field per config it held.
   */
  refresh(now = Date.now()): void {
    const due = [...this.last.entries()].filter(([, { value }]) => now - value.seenAt >= SETUP_STATE_REFRESH_MS)
    for (const [, entry] of due) entry.value = { ...entry.value, seenAt: now }
    if (due.length > 0)
      this.write(
        due.map(([id, { value }]) => [id, value]),
        now - SETUP_STATE_STALE_MS,
      )
  }

  /** The config is no longer loaded here (changed, disabled or deleted). */
  forget(pluginConfigId: number): void {
    this.queued.delete(pluginConfigId)
    if (!this.last.delete(pluginConfigId)) return
    this.track(this.redis.hdel(setupStateKey(this.queuePrefix, pluginConfigId), this.instanceId))
  }

  /** Clears this process's states, so a stopped worker does not speak for the fleet. */
  async close(): Promise<void> {
    for (const id of [...this.last.keys()]) this.forget(id)
    await Promise.allSettled([...this.writes])
  }

  /** `pruneBefore`: also drops the fields last written before this (epoch ms). */
  private write(states: [number, PublishedSetupState][], pruneBefore?: number): void {
    const multi = this.redis.multi()
    for (const [id, value] of states) {
      const key = setupStateKey(this.queuePrefix, id)
      multi.hset(key, this.instanceId, JSON.stringify(value)).pexpire(key, SETUP_STATE_TTL_MS)
      if (pruneBefore !== undefined) multi.eval(PRUNE_STALE, 1, key, String(pruneBefore))
    }
    this.track(multi.exec())
  }

  private track(write: Promise<unknown>): void {
    const tracked = write
      .catch((err: Error) => {
        if (this.warned) return
        this.warned = true
        this.logger.warn({ err: err.message }, 'plugin setup state not published to Redis; the admin API shows it as unknown')
      })
      .finally(() => this.writes.delete(tracked))
    this.writes.add(tracked)
  }
}
