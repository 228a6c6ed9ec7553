import type { Logger } from 'pino'
import type { PluginInstance } from '@plugin-server/plugin-vm'

/**
 * Heap is read again after a call once the isolate has used this much CPU since its last reading:
 * filling memory takes CPU (0.15–0.3 MB per ms measured: strings, arrays, a touched ArrayBuffer), so
 * no isolate grows by more than a few MB unseen, and a trivial plugin's 0.5–1.2 ms calls are read
 * one in five or fewer (a reading is one hop to the isolate's thread, ≈ 50 µs of CPU).
 */
const SAMPLE_AFTER_CPU_NS = 5_000_000n
/**
 * What an idle isolate holds itself (the runtime's heap from the startup snapshot: ~0.85 MB): the
 * process budget counts each isolate's heap above it, so it bounds what plugins fill, while
 * PLUGIN_MAX_LIVE_INSTANCES bounds how many isolates there are.
 */
const ISOLATE_BASELINE_BYTES = 1024 * 1024
/** How often isolates are checked for having reached SAMPLE_AFTER_CPU_NS without a call (timers, SDK callbacks). */
const SWEEP_INTERVAL_MS = 1000

interface Tracked {
  readonly teamId: number
  /** Heap at the last reading (used + external); 0 until the first. */
  bytes: number
  /** The isolate's CPU clock at the last reading. */
  cpuAtReading: bigint
  reading: boolean
  /** Ends the load's admission (see `admit`) once the new isolate has been read or is gone. */
  release?: () => void
}

/** A team's loads admitted and not yet read, and the loads waiting for room. */
interface TeamLoads {
  inFlight: number
  waiting: (() => void)[]
}

export interface TeamMemoryLimits {
  /** PLUGIN_TEAM_MEMORY_LIMIT_MB, in bytes. */
  teamBytes: number
  /** PLUGIN_PROCESS_MEMORY_LIMIT_MB, in bytes: every team's isolates in the process together; 0, none. */
  processBytes?: number
  /** PLUGIN_MEMORY_LIMIT_MB, in bytes: the most one isolate can come to hold. */
  isolateBytes: number
}

export interface TeamMemoryEvents {
  /** A team's isolates held `teamBytes` together, over the budget; `instance`, the largest, was disposed. */
  onExceeded?(teamId: number, instance: PluginInstance, instanceBytes: number, teamBytes: number): void
  /**
   * Every team's isolates held `processBytes` together, over PLUGIN_PROCESS_MEMORY_LIMIT_MB:
   * `instance`, the largest of the team chosen, is to be unloaded (not a breach of its config: many
   * healthy teams can fill a small container). Answers whether it will be (false: it cannot be now,
   * e.g. still loading; another is chosen). Without a handler it is disposed.
   */
  onProcessExceeded?(teamId: number, instance: PluginInstance, instanceBytes: number, processBytes: number): boolean
}

/**
 * Holds what one team's live isolates in this process hold together to a budget
 * (PLUGIN_TEAM_MEMORY_LIMIT_MB). Each isolate has its own limit, but a team enabling many plugins
 * that fill their heaps would otherwise take the process, and every other team's events in it, to
 * the pod's memory limit. Over the budget, the team's largest isolate is disposed as a memory
 * breach of its config (the circuit breaker counts it), until the team is back under.
 *
 * Loads are admitted against the budget too (`admit`): a team's isolates being created and set up
 * count at their whole limit until read, so a team's first batch cannot set up all its plugins at
 * once past the budget.
 *
 * Every team's isolates together, above an idle isolate's own heap each, are held to
 * PLUGIN_PROCESS_MEMORY_LIMIT_MB the same way, but gently: over it, isolates of the teams holding the
 * most are unloaded (`onProcessExceeded`, see `enforceProcess`; reloaded on next use), not disposed
 * as breaches — many teams each within their budget, hostile accounts or merely many healthy teams,
 * would otherwise take the container to its memory limit.
 *
 * Heap is read on the isolate's thread after its load, then whenever the isolate has used
 * SAMPLE_AFTER_CPU_NS of CPU since its last reading: checked after each call and once a second (for
 * CPU used outside calls). The budget can be overrun by what isolates grow between readings: a few
 * MB each, more for a call still running (bounded by its own limit).
 */
export class TeamMemoryBudget {
  private readonly tracked = new Map<PluginInstance, Tracked>()
  /** The same entries by team, so a team's total is a walk over its own isolates only. */
  private readonly byTeam = new Map<number, Map<PluginInstance, Tracked>>()
  private readonly loads = new Map<number, TeamLoads>()
  /** What every tracked isolate held above ISOLATE_BASELINE_BYTES at its last reading, kept as readings come and isolates go. */
  private processTotal = 0
  /** Handed to `onProcessExceeded`: not counted again while their eviction lets their calls finish. */
  private readonly unloading = new WeakSet<PluginInstance>()
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly limits: TeamMemoryLimits,
    private readonly logger: Logger,
    private readonly events: TeamMemoryEvents = {},
  ) {}

  /**
   * Before an isolate of the team is created: waits until what the team's isolates held at their
   * last readings, plus a whole isolate limit for each load admitted and not yet read, this one
   * included, fits the budget. One load of a team always goes ahead, so a budget smaller than an
   * isolate's limit slows a team's loads but never stops them. Returns the release, for a load that
   * failed before `track`.
   */
  admit(teamId: number): Promise<() => void> {
    let loads = this.loads.get(teamId)
    if (!loads) this.loads.set(teamId, (loads = { inFlight: 0, waiting: [] }))
    const team = loads
    return new Promise((resolve) => {
      const grant = () => {
        team.inFlight++
        let released = false
        resolve(() => {
          if (released) return
          released = true
          team.inFlight--
          this.wake(teamId)
        })
      }
      if (team.waiting.length === 0 && this.hasRoom(teamId, team)) grant()
      else team.waiting.push(grant)
    })
  }

  /** A new isolate of an admitted load: `release` ends the admission at its first reading (or when it is gone). */
  track(teamId: number, instance: PluginInstance, release: () => void): void {
    this.add(instance, { teamId, bytes: 0, cpuAtReading: -SAMPLE_AFTER_CPU_NS, reading: false, release })
  }

  /** After the instance was loaded or called for `teamId`: reads its heap if it may have grown. */
  used(teamId: number, instance: PluginInstance): void {
    let entry = this.tracked.get(instance)
    if (entry && instance.disposed) return this.forget(instance, entry)
    if (instance.disposed || this.unloading.has(instance)) return
    if (!entry) {
      entry = { teamId, bytes: 0, cpuAtReading: -SAMPLE_AFTER_CPU_NS, reading: false }
      this.add(instance, entry)
    }
    this.readIfGrown(instance, entry)
  }

  /** What every team's live isolates held together above an idle isolate's own, at their last readings (what PLUGIN_PROCESS_MEMORY_LIMIT_MB bounds). */
  processBytes(): number {
    let held = 0
    for (const [instance, entry] of this.tracked) if (!instance.disposed) held += aboveBaseline(entry.bytes)
    return held
  }

  /** The most any team's isolates held together at their last readings (0 when none is tracked). */
  largestTeamBytes(): number {
    let largest = 0
    for (const teamId of this.byTeam.keys()) largest = Math.max(largest, this.heldBy(teamId))
    return largest
  }

  /** Stops the readings; loads still waiting for room go ahead. */
  close(): void {
    clearInterval(this.timer)
    this.timer = undefined
    this.tracked.clear()
    this.byTeam.clear()
    this.processTotal = 0
    for (const loads of this.loads.values()) loads.waiting.splice(0).forEach((grant) => grant())
  }

  private heldBy(teamId: number): number {
    let held = 0
    for (const [instance, entry] of this.byTeam.get(teamId) ?? []) if (!instance.disposed) held += entry.bytes
    return held
  }

  private hasRoom(teamId: number, loads: TeamLoads): boolean {
    return loads.inFlight === 0 || this.heldBy(teamId) + (loads.inFlight + 1) * this.limits.isolateBytes <= this.limits.teamBytes
  }

  /** Admits the team's waiting loads that now fit. */
  private wake(teamId: number): void {
    const loads = this.loads.get(teamId)
    if (!loads) return
    while (loads.waiting.length > 0 && this.hasRoom(teamId, loads)) loads.waiting.shift()!()
    if (loads.inFlight === 0 && loads.waiting.length === 0) this.loads.delete(teamId)
  }

  private add(instance: PluginInstance, entry: Tracked): void {
    this.tracked.set(instance, entry)
    let team = this.byTeam.get(entry.teamId)
    if (!team) this.byTeam.set(entry.teamId, (team = new Map()))
    team.set(instance, entry)
    this.startSweeping()
  }

  private forget(instance: PluginInstance, entry: Tracked): void {
    // A reading that outlived its entry (forgotten, the instance tracked again since) settles only its own.
    if (this.tracked.get(instance) === entry) {
      this.tracked.delete(instance)
      this.processTotal -= aboveBaseline(entry.bytes)
      const team = this.byTeam.get(entry.teamId)
      team?.delete(instance)
      if (team?.size === 0) this.byTeam.delete(entry.teamId)
    }
    this.settle(entry)
  }

  /** Ends the entry's admission, if it still holds one, and lets the team's waiting loads in. */
  private settle(entry: Tracked): void {
    const release = entry.release
    entry.release = undefined
    if (release) release()
    else this.wake(entry.teamId)
  }

  private startSweeping(): void {
    if (this.timer) return
    this.timer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS)
    this.timer.unref()
  }

  /** Forgets disposed isolates; reads those that may have grown since their last reading. */
  private sweep(): void {
    for (const [instance, entry] of this.tracked) {
      if (instance.disposed) this.forget(instance, entry)
      else this.readIfGrown(instance, entry)
    }
    if (this.tracked.size === 0) {
      clearInterval(this.timer)
      this.timer = undefined
    }
  }

  private readIfGrown(instance: PluginInstance, entry: Tracked): void {
    if (instance.cpuTimeNs() - entry.cpuAtReading >= SAMPLE_AFTER_CPU_NS) void this.read(instance, entry)
  }

  private async read(instance: PluginInstance, entry: Tracked): Promise<void> {
    if (entry.reading) return
    entry.reading = true
    try {
      const cpu = instance.cpuTimeNs()
      const bytes = await instance.heapBytes()
      if (bytes === null) return this.forget(instance, entry)
      if (this.tracked.get(instance) === entry) this.processTotal += aboveBaseline(bytes) - aboveBaseline(entry.bytes)
      entry.bytes = bytes
      entry.cpuAtReading = cpu
      this.enforce(entry.teamId)
      this.enforceProcess()
      this.settle(entry)
    } finally {
      entry.reading = false
    }
  }

  private enforce(teamId: number): void {
    const limit = this.limits.teamBytes
    let total = this.heldBy(teamId)
    if (total <= limit) return
    const team = [...(this.byTeam.get(teamId) ?? [])].filter(([instance]) => !instance.disposed)
    team.sort(([, a], [, b]) => b.bytes - a.bytes)
    for (const [instance, entry] of team) {
      if (total <= limit) break
      const held = total
      this.forget(instance, entry)
      total -= entry.bytes
      instance.exceed(
        'memory',
        `team's memory limit (PLUGIN_TEAM_MEMORY_LIMIT_MB, ${mb(limit)} MB across the team's plugins in one process): they held ${mb(held)} MB, this plugin the most, ${mb(entry.bytes)} MB`,
      )
      this.logger.warn(
        { team_id: teamId, plugin_config_id: instance.configId, team_bytes: held, instance_bytes: entry.bytes, limit_bytes: limit },
        "a team's plugins held more memory than PLUGIN_TEAM_MEMORY_LIMIT_MB: its largest isolate was disposed",
      )
      this.events.onExceeded?.(teamId, instance, entry.bytes, held)
    }
  }

  /**
   * Over the process's budget, isolates are unloaded until back under: each time from a team drawn
   * among those holding more than an even share of the budget, weighted by what they hold — many
   * accounts together bear most of the unloads, not the one large team they stand beside, as they
   * would if the heaviest team always paid — its largest isolate that can be unloaded now.
   */
  private enforceProcess(): void {
    const limit = this.limits.processBytes ?? 0
    if (limit === 0 || this.processTotal <= limit) return
    // Isolates disposed since the last sweep still count in the running total: not what to act on.
    for (const [instance, entry] of this.tracked) if (instance.disposed) this.forget(instance, entry)
    const cannot = new Set<PluginInstance>()
    while (this.processTotal > limit) {
      const candidates = new Map<number, [PluginInstance, Tracked][]>()
      for (const [teamId, team] of this.byTeam) {
        const live = [...team].filter(([instance]) => !instance.disposed && !cannot.has(instance))
        if (live.length > 0) candidates.set(teamId, live)
      }
      const teamId = drawTeam(candidates, limit / Math.max(1, this.byTeam.size))
      if (teamId === undefined) return
      const [instance, entry] = candidates.get(teamId)!.reduce((a, b) => (b[1].bytes > a[1].bytes ? b : a))
      const held = this.processTotal
      const unloads = this.events.onProcessExceeded ? this.events.onProcessExceeded(teamId, instance, entry.bytes, held) : (instance.dispose(), true)
      if (!unloads) {
        cannot.add(instance)
        continue
      }
      this.unloading.add(instance)
      this.forget(instance, entry)
      this.logger.warn(
        { team_id: teamId, plugin_config_id: instance.configId, process_bytes: held, instance_bytes: entry.bytes, limit_bytes: limit },
        'the plugins of all teams in this process held more memory than PLUGIN_PROCESS_MEMORY_LIMIT_MB: one of the teams over an even share had its largest isolate unloaded',
      )
    }
  }
}

function aboveBaseline(bytes: number): number {
  return Math.max(0, bytes - ISOLATE_BASELINE_BYTES)
}

/** A team among those holding more than `share`, drawn with a chance in proportion to what it holds (the heaviest if none does). */
function drawTeam(candidates: Map<number, [PluginInstance, Tracked][]>, share: number): number | undefined {
  const held = [...candidates].map(([teamId, team]): [number, number] => [teamId, team.reduce((n, [, e]) => n + e.bytes, 0)])
  const over = held.filter(([, bytes]) => bytes > share)
  if (over.length === 0) return held.sort((a, b) => b[1] - a[1])[0]?.[0]
  let ticket = Math.random() * over.reduce((n, [, bytes]) => n + bytes, 0)
  for (const [teamId, bytes] of over) if ((ticket -= bytes) < 0) return teamId
  return over[over.length - 1][0]
}

function mb(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(bytes < 10 * 1024 * 1024 ? 1 : 0)
}
