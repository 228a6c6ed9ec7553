import { publishReload, ReloadMessage, withTimeout } from '@plugin-server/core'
import { listExistingConfigIds } from '@plugin-server/db'
import {
  PluginCapabilities,
  PluginDisposedError,
  PluginError,
  PluginInstance,
  PluginInstanceOptions,
  PluginLimitError,
  PluginMethodName,
  PluginPool,
  PluginSource,
  PluginVm,
  sourceFromFiles,
} from '@plugin-server/plugin-vm'
import type { Counter } from 'prom-client'
import { countBreakerDisabled } from './breaker-metrics'
import { CapabilitiesCache } from './capabilities-cache'
import { disableConfig } from './config-errors'
import { PluginConfigUnavailableError } from './config-unavailable-error'
import { CaptureDepth, createHost, logTarget } from './create-host'
import { crowdingCounter } from './crowding-metrics'
import { CrowdedWarning } from './crowded-warning'
import { ResidentMemoryGuard } from './resident-memory-guard'
import { residentMemoryMetrics } from './resident-memory-metrics'
import type { ActiveConfig, ConfigEvictionRank, RuntimeServices, SetupState } from './interfaces'
import { LimitBreaker } from './limit-breaker'
import { checkPluginSource } from './check-plugin-source'
import { loadFailureReason } from './load-failure-reason'
import { LoadFailureReporter } from './load-failure-reporter'
import { AttachmentSecretsCache, loadAttachments, loadEnabledConfigs, loadPluginFiles, PluginConfigRecord, PluginJsonCache, secretValues } from './load-configs'
import { covering, mergeScopes, ReadScope, scopeOf } from './reload-scope'
import { setupRetryDelayMs } from './setup-retry'
import { PublishedSetupState, SetupStatePublisher } from './setup-state-store'
import { TeamMemoryBudget } from './team-memory-budget'
import { TeamSharedBounds } from './team-shared-bounds'
import { sharedBoundsMetrics } from './shared-bounds-metrics'
import { TeamMemoryMetrics, teamMemoryMetrics } from './team-memory-metrics'
import { teamRedisRefusals } from './team-redis-metrics'
import { redact, redactError, SecretBox } from '@plugin-server/secrets'

/** Loads of a config one `teamConfigs` makes while reloads keep replacing its record before its setup ends. */
const LOADS_WHILE_CHANGING = 3
/** The floor of a config re-read's deadline (the reconcile interval otherwise). */
const MIN_READ_TIMEOUT_MS = 10_000

/**
 * Keeps this process's view of the enabled plugin configs and their sandboxes. Configs are set up
 * lazily, on first use, and torn down when they change, are disabled, are evicted or the process
 * stops. A config whose setupPlugin has not succeeded is left out of `teamConfigs`: its team's
 * events go on without it until setup succeeds or the config is disabled. A config the server could
 * not read (Postgres) is not left out: `teamConfigs` throws PluginConfigUnavailableError instead,
 * as it does for a config whose record reloads keep replacing while it is set up.
 */
export class PluginManager {
  private records = new Map<number, PluginConfigRecord>()
  private teams = new Map<number, number[]>()
  private readonly states = new Map<number, SetupState>()
  private readonly depths = new Map<number, CaptureDepth>()
  private readonly exports = new Map<number, Pick<PluginInstance, 'methods' | 'jobNames'>>()
  /** What each live instance was loaded from, for its teardown after a reload replaced the record. */
  private readonly loadedFrom = new WeakMap<PluginInstance, PluginConfigRecord>()
  private readonly sources = new Map<string, Promise<PluginSource>>()
  private readonly instances: PluginPool<number>
  private refreshing: Promise<void> | null = null
  /** What the reloads and reconciles since the last read began ask to read (null: nothing). */
  private pending: ReadScope | null = null
  private readonly pluginJsons = new PluginJsonCache()
  private readonly attachmentSecrets = new AttachmentSecretsCache()
  private applying: Promise<void> = Promise.resolve()
  private closed = false
  private timer: NodeJS.Timeout | null = null
  /** Set while the last re-read of the configs failed (Postgres down); readiness reports it. */
  lastRefreshError: string | null = null
  private readonly secrets: SecretBox
  private readonly reportedUnreadable = new Set<number>()
  private readonly published: SetupStatePublisher
  private readonly breaker: LimitBreaker
  private readonly loadFailures: LoadFailureReporter
  /** Configs this process is disabling for their breaches (counted once however many breaches follow). */
  private readonly tripping = new Set<number>()
  /** What each config's version exports, from its version row: routing reads this instead of loading plugins. */
  private readonly capabilities: CapabilitiesCache
  /** What each team's isolates hold together (PLUGIN_TEAM_MEMORY_LIMIT_MB). */
  private readonly memory: TeamMemoryBudget
  /** Sockets and host-held bytes a team's instances share, within the process's. */
  private readonly shared: TeamSharedBounds
  private readonly memoryMetrics: TeamMemoryMetrics | undefined
  /** Configs that left the records (disabled, or deleted while a reconcile missed it) and still existed: looked up again at each reconcile. */
  private readonly departed = new Set<number>()
  private readonly deletedListeners: ((id: number) => void)[] = []
  private readonly leftListeners: ((id: number) => void)[] = []
  /** Configs whose instance was evicted to make room or unloaded for RSS: their next load is routine, not news for their logs. */
  private readonly evictedForRoom = new Set<number>()
  private readonly crowded: CrowdedWarning
  private readonly evictedForRoomCounter: Counter | undefined
  /** Fewer configs live while the process's RSS is over PLUGIN_RSS_LIMIT_MB. */
  private readonly rssGuard: ResidentMemoryGuard

  constructor(
    private readonly services: RuntimeServices,
    private readonly vm: PluginVm,
    evictionRank?: ConfigEvictionRank,
  ) {
    this.secrets = new SecretBox(services.plugins.secretsKeys)
    this.published = new SetupStatePublisher(services.redis, services.queuePrefix, services.logger)
    this.breaker = new LimitBreaker(services.redis, services.queuePrefix, {
      maxBreaches: services.plugins.breakerMaxBreaches,
      windowMs: services.plugins.breakerWindowMs,
    })
    this.loadFailures = new LoadFailureReporter(services)
    this.capabilities = new CapabilitiesCache(services.pool, services.logger)
    this.crowded = new CrowdedWarning(services.logger, services.plugins.maxLiveInstances, () => this.instances.cap)
    this.evictedForRoomCounter = services.registry ? crowdingCounter(services.registry, services.plugins.maxLiveInstances) : undefined
    this.memoryMetrics = services.registry ? teamMemoryMetrics(services.registry) : undefined
    // Declared now, so /metrics names it before any team is refused (the hosts count on it).
    if (services.registry) teamRedisRefusals(services.registry)
    const MiB = 1024 * 1024
    const limits = {
      teamBytes: services.plugins.teamMemoryLimitMb * MiB,
      isolateBytes: services.plugins.memoryLimitMb * MiB,
      processBytes: services.plugins.processMemoryLimitMb * MiB,
    }
    const { teamMemoryLimitMb, processMemoryLimitMb } = services.plugins
    if (processMemoryLimitMb > 0 && teamMemoryLimitMb >= processMemoryLimitMb) {
      // Said at start: nothing else would show that a team's memory breach can never fire here.
      services.logger.warn(
        { teamMemoryLimitMb, processMemoryLimitMb },
        `PLUGIN_TEAM_MEMORY_LIMIT_MB (${teamMemoryLimitMb}) is not below PLUGIN_PROCESS_MEMORY_LIMIT_MB (${processMemoryLimitMb}): a team filling its plugins' heaps is unloaded again and again at the process limit instead of being a breach the circuit breaker disables; set it lower`,
      )
    }
    this.shared = new TeamSharedBounds({
      teamSockets: services.plugins.teamMaxSockets,
      processSockets: services.plugins.maxSockets,
      teamHeldBytes: services.plugins.teamHeldMaxMb * MiB,
      processHeldBytes: services.plugins.heldMaxMb * MiB,
    })
    this.memory = new TeamMemoryBudget(limits, services.logger, {
      onExceeded: () => this.memoryMetrics?.exceeded.inc(),
      onProcessExceeded: (_teamId, instance) => {
        const record = this.loadedFrom.get(instance)
        // Only an instance the pool holds now: not one still setting up, nor a newer one in its place.
        if (!record || !this.instances.holds(record.id, instance)) return false
        this.memoryMetrics?.processExceeded.inc()
        // Reloaded on its next use; its calls in flight finish first.
        void this.instances.evict(record.id, 'memory', instance)
        return true
      },
    })
    this.memoryMetrics?.budgets.add(this.memory)
    if (services.registry) sharedBoundsMetrics(services.registry).add(this.shared)
    this.instances = new PluginPool<number>({
      maxLiveInstances: services.plugins.maxLiveInstances,
      create: (id, room) => this.create(id, room),
      onLoad: (id, instance) => this.setup(id, instance),
      onEvict: (id, instance, reason) => this.teardown(id, instance, reason),
      drainTimeoutMs: services.plugins.timeoutMs,
      evictionRank: evictionRank && ((id, instance, lastUsedAt) => evictionRank(id, instance.methods, lastUsedAt)),
    })
    this.rssGuard = new ResidentMemoryGuard(this.instances, services.logger, {
      limitBytes: services.plugins.rssLimitMb * MiB,
      timeScale: services.timeScale,
      metrics: services.registry && residentMemoryMetrics(services.registry),
    })
  }

  /** Reads the configs and re-reads them all every reconcile interval; `reload` is for pub/sub messages. */
  async start(): Promise<void> {
    await this.refresh()
    this.rssGuard.start()
    this.timer = setInterval(
      () => void this.refresh().catch((err: Error) => this.services.logger.warn({ err: err.message }, 'plugin reconcile failed')),
      this.services.plugins.reconcileIntervalMs,
    )
    this.timer.unref()
  }

  /** Re-reads every enabled config (the periodic reconcile). */
  refresh(): Promise<void> {
    return this.reread('all')
  }

  /**
   * Re-reads what a reload message names (see scopeOf): one team's edit re-read 20 000 configs in
   * every process of the fleet, 334 ms of Postgres and 26 MB of rows each time.
   */
  reload(message: ReloadMessage): Promise<void> {
    return this.reread(scopeOf(message))
  }

  /**
   * Coalesces bursts of reloads into one re-read of what they name together. A read that has not
   * answered within `readTimeoutMs` fails the refresh (readiness reports it) and is abandoned, so the
   * reloads and reconciles after it read again instead of joining a read stuck on a connection that
   * stopped answering; what it was to read is read with the next one.
   */
  private reread(scope: ReadScope): Promise<void> {
    this.pending = mergeScopes(this.pending, scope)
    if (this.refreshing) return this.refreshing
    this.refreshing = (async () => {
      let rerunAfterFailure = false
      for (let reading = this.pending; reading !== null; reading = this.pending) {
        this.pending = null
        try {
          const records = await withTimeout(this.read(reading), this.readTimeoutMs, `plugin configs not read within ${this.readTimeoutMs} ms`)
          // Read while close() ran: there is nothing left to apply it to.
          if (this.closed) return
          this.applying = this.reconcile(reading, records)
          await this.applying
          this.lastRefreshError = null
          rerunAfterFailure = false
        } catch (err) {
          this.lastRefreshError = (err as Error).message
          const announcedMeanwhile = this.pending !== null
          this.pending = mergeScopes(this.pending, reading)
          // A reload message that came during the failed read may announce what it missed: read once
          // more, or the change waits for the reconcile. Only once, so a Postgres that fails every read is not read in a loop.
          if (!announcedMeanwhile || rerunAfterFailure) throw err
          rerunAfterFailure = true
        }
      }
    })().finally(() => (this.refreshing = null))
    return this.refreshing
  }

  /**
   * Every enabled config after reading those of `scope`: the others as they are. A read abandoned by
   * its deadline may still refresh the capabilities later: harmless, a version's exports never change.
   */
  private async read(scope: ReadScope): Promise<PluginConfigRecord[]> {
    const read = await loadEnabledConfigs(this.services.pool, {
      scope: scope === 'all' ? null : scope,
      secrets: this.secrets,
      onUnreadable: (id, message) => this.unreadable(id, message),
      // Its plugin deleted while this read ran (the next read no longer finds the config), or a row lost.
      onVersionMissing: (id, message) =>
        this.services.logger.error({ plugin_config_id: id, err: message }, 'plugin config left out of this read: its plugin version is not stored'),
      pluginJsons: this.pluginJsons,
      attachmentSecrets: this.attachmentSecrets,
    })
    const inScope = covering(scope)
    const records = scope === 'all' ? read : [...[...this.records.values()].filter((r) => !inScope(r)), ...read]
    await this.capabilities.refresh(records)
    this.pluginJsons.retain(records)
    this.attachmentSecrets.retain(records)
    // Compiled code (and its source map, up to 8 MB) of versions no enabled config runs now: an
    // upgrade, a rollback or a deleted plugin kept theirs for the life of the process.
    const running = new Set(records.map(sourceKey))
    for (const key of this.sources.keys()) if (!running.has(key)) this.sources.delete(key)
    return read
  }

  /** Within the reconcile interval, but never so short that a slow read on a busy database counts as stuck. */
  private get readTimeoutMs(): number {
    return Math.max(MIN_READ_TIMEOUT_MS, this.services.plugins.reconcileIntervalMs)
  }

  /** Said once per config and process: the reconcile re-reads every 30 s. */
  private unreadable(id: number, message: string): void {
    if (this.reportedUnreadable.has(id)) return
    this.reportedUnreadable.add(id)
    this.services.logger.error({ plugin_config_id: id, err: message }, 'plugin config left out: its secrets cannot be decrypted with PLUGIN_SECRETS_KEYS')
  }

  /**
   * The team's configs that are set up, in processEvent order; sets up the ones not loaded yet. With
   * `methods`, only configs exporting one of them (or whose exports are not known yet) are loaded and
   * returned, so a role never sets up a plugin for a method it does not run.
   */
  async teamConfigs(teamId: number, methods?: readonly PluginMethodName[]): Promise<ActiveConfig[]> {
    const teamIds = () => (this.teams.get(teamId) ?? []).filter((id) => !methods || (this.exportsAnyOf(id, methods) ?? true))
    await this.loadSettled(teamId, teamIds)
    // Read with no await since the states above: a reload cannot leave a config pending in between.
    return teamIds()
      .filter((id) => this.states.get(id)?.status === 'ready')
      .map((id) => this.active(id))
  }

  /** Whether some enabled config of the team exports one of `methods`: read from the version rows; only configs whose exports are unknown are loaded. */
  async teamHas(teamId: number, methods: readonly PluginMethodName[]): Promise<boolean> {
    return (await this.teamExporting(teamId, methods)).length > 0
  }

  /** The team's enabled configs exporting one of `methods`, in order, set up here or not (only configs whose exports are unknown are loaded). */
  async teamExporting(teamId: number, methods: readonly PluginMethodName[]): Promise<PluginConfigRecord[]> {
    const ids = () => this.teams.get(teamId) ?? []
    await this.loadSettled(teamId, () => ids().filter((id) => !this.methodsOf(id)))
    return ids()
      .filter((id) => this.exportsAnyOf(id, methods))
      .map((id) => this.records.get(id)!)
  }

  /**
   * Loads those of `candidates()` that are due, then again those still pending after each load: a
   * reload replaced their record meanwhile and the setup it ran was dropped. Left out, the team's
   * events would pass (or skip the exports of) a config that is enabled without it having run. Past
   * LOADS_WHILE_CHANGING loads, throws so the team's part is retried.
   */
  private async loadSettled(teamId: number, candidates: () => number[]): Promise<void> {
    let ids = candidates().filter((id) => this.due(id))
    for (let loads = 1; ids.length > 0; loads++) {
      await this.loadForTeam(teamId, ids)
      ids = candidates().filter((id) => this.states.get(id)?.status === 'pending')
      if (ids.length > 0 && loads === LOADS_WHILE_CHANGING)
        throw new PluginConfigUnavailableError(
          teamId,
          ids.map((id) => ({ id, pluginName: this.records.get(id)!.pluginName, error: `its config changed while it was set up, ${loads} times in a row` })),
        )
    }
  }

  /** What the config's version exports, without loading it; null while not known (then only `config(id)` tells). */
  capabilitiesOf(id: number): PluginCapabilities | null {
    const record = this.records.get(id)
    return record ? this.capabilities.of(record) : null
  }

  /** What the config's version exports, from its version row or the instance loaded here; undefined while not known. */
  methodsOf(id: number): readonly PluginMethodName[] | undefined {
    return this.capabilitiesOf(id)?.methods ?? this.exports.get(id)?.methods
  }

  /** Whether the config's version exports one of `methods`; undefined while its exports are not known. */
  exportsAnyOf(id: number, methods: readonly PluginMethodName[]): boolean | undefined {
    return this.methodsOf(id)?.some((m) => methods.includes(m))
  }

  async config(id: number): Promise<ActiveConfig | null> {
    if (!this.records.has(id)) return null
    if (this.due(id)) await this.load(id)
    return this.states.get(id)?.status === 'ready' ? this.active(id) : null
  }

  /** Whether this process knows the config as enabled: per scheduled run, so a lookup, not a scan of every config. */
  knows(id: number): boolean {
    return this.records.has(id)
  }

  /** Every enabled config this process knows, whether set up or not (for schedulers and metrics). */
  enabledConfigs(): readonly PluginConfigRecord[] {
    return [...this.records.values()]
  }

  /**
   * Tears down the live instances of these configs (teardownPlugin runs) and sets them up again on
   * their next use: for a scheduler that handed their shard to another replica.
   */
  async release(ids: readonly number[]): Promise<void> {
    // Only what was loaded: a pending config has nothing to tear down, a disabled one stays disabled.
    const live = ids.filter((id) => this.records.has(id) && ['ready', 'retrying', 'failed'].includes(this.states.get(id)?.status ?? 'pending'))
    await Promise.all(
      live.map((id) => {
        const unloaded = this.unload(id)
        this.setState(id, { status: 'pending' })
        return unloaded
      }),
    )
  }

  /** Calls `listener` with each config this process knew once it is deleted (not changed or disabled): for its per-config series to go with it. */
  onConfigDeleted(listener: (id: number) => void): void {
    this.deletedListeners.push(listener)
  }

  /** Calls `listener` with each config that leaves this process's enabled set (disabled or deleted): for series of what it runs here. */
  onConfigLeft(listener: (id: number) => void): void {
    this.leftListeners.push(listener)
  }

  state(id: number): SetupState | null {
    return this.states.get(id) ?? null
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.timer) clearInterval(this.timer)
    // Only a reconcile under way is waited for (it loads and tears down instances); a read still
    // waiting on Postgres is not, or a connection that stopped answering would hold the shutdown.
    await this.applying.catch(() => undefined)
    await this.rssGuard.stop()
    await this.instances.close()
    this.memory.close()
    this.memoryMetrics?.budgets.delete(this.memory)
    if (this.services.registry) sharedBoundsMetrics(this.services.registry).delete(this.shared)
    await this.published.close()
    await this.loadFailures.close()
  }

  /** Replaces the records `scope` covers with `read` (in processEvent order), unloading those that changed or left. */
  private async reconcile(scope: ReadScope, read: PluginConfigRecord[]): Promise<void> {
    const readById = new Map(read.map((r) => [r.id, r]))
    const inScope = covering(scope)
    const previous = [...this.records.values()].filter(inScope)
    const gone = previous.filter((old) => readById.get(old.id)?.signature !== old.signature)
    // Detached before the records change, torn down after: calls from now on load the new version,
    // calls in flight finish on the old instance (its batch, job or export is not failed by the reload).
    const unloading = gone.map((old) => this.unload(old.id))
    const left = previous.filter((old) => !readById.has(old.id)).map((old) => old.id)
    if (this.deletedListeners.length > 0) for (const id of left) this.departed.add(id)
    for (const id of left) for (const listener of this.leftListeners) listener(id)
    for (const id of readById.keys()) this.departed.delete(id)
    const readByTeam = new Map<number, number[]>()
    for (const record of read) readByTeam.set(record.teamId, [...(readByTeam.get(record.teamId) ?? []), record.id])
    if (scope === 'all') {
      this.records = readById
      this.teams = readByTeam
    } else {
      for (const old of previous) this.records.delete(old.id)
      for (const record of read) this.records.set(record.id, record)
      // The teams the read touched, in processEvent order: their configs outside the scope (a config or plugin's read) put back in place.
      for (const teamId of new Set([...previous, ...read].map((r) => r.teamId))) {
        const ids = [...new Set([...(this.teams.get(teamId) ?? []), ...(readByTeam.get(teamId) ?? [])])]
          .flatMap((id) => this.records.get(id) ?? [])
          .sort((a, b) => a.order - b.order || a.id - b.id)
          .map((r) => r.id)
        if (ids.length > 0) this.teams.set(teamId, ids)
        else this.teams.delete(teamId)
      }
    }
    for (const record of read) if (!this.states.has(record.id)) this.setState(record.id, { status: 'pending' })
    this.published.refresh()
    await Promise.all([...unloading, this.announceDeleted()])
  }

  private async announceDeleted(): Promise<void> {
    if (this.departed.size === 0 || this.deletedListeners.length === 0) return
    const ids = [...this.departed]
    try {
      const existing = new Set(await listExistingConfigIds(this.services.pool, ids))
      for (const id of ids.filter((id) => !existing.has(id))) {
        this.departed.delete(id)
        for (const listener of this.deletedListeners) listener(id)
      }
    } catch (err) {
      this.services.logger.warn({ err: (err as Error).message }, 'deleted plugin configs not looked up; looked up again at the next reconcile')
    }
  }

  /** Forgets the config's state at once (synchronously), then drains and tears down its instance. */
  private unload(id: number): Promise<void> {
    this.states.delete(id)
    this.published.forget(id)
    this.loadFailures.forget(id)
    this.depths.delete(id)
    this.exports.delete(id)
    this.evictedForRoom.delete(id)
    return this.instances.evict(id, 'explicit')
  }

  /** Pending, or retrying (setup) / failed (load) and past the backoff: a batch never waits on a plugin that failed a moment ago. */
  private due(id: number): boolean {
    const state = this.states.get(id)
    if (state?.status === 'pending') return true
    return (state?.status === 'retrying' || state?.status === 'failed') && state.nextAttemptAt <= Date.now()
  }

  /**
   * Loads the team's configs; throws PluginConfigUnavailableError for those still pending after their
   * load threw (and not reloaded meanwhile): the server, not the plugin, failed to read them.
   */
  private async loadForTeam(teamId: number, ids: readonly number[]): Promise<void> {
    const records = new Map(ids.map((id) => [id, this.records.get(id)]))
    const errors = await Promise.all(ids.map(async (id) => ({ id, error: await this.load(id) })))
    const unavailable = errors.filter(({ id, error }) => error && this.states.get(id)?.status === 'pending' && this.records.get(id) === records.get(id))
    if (unavailable.length === 0) return
    throw new PluginConfigUnavailableError(
      teamId,
      unavailable.map(({ id, error }) => ({ id, pluginName: this.records.get(id)!.pluginName, error: error!.message })),
    )
  }

  /** Setup and plugin load errors are recorded in the config's state; the error is returned for the caller to tell a failure that is not the plugin's. */
  private load(id: number): Promise<Error | null> {
    return this.use(id, async () => undefined).then(
      () => null,
      (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
    )
  }

  private active(id: number): ActiveConfig {
    const depth = this.depth(id)
    const exports = this.exports.get(id)
    const record = this.records.get(id)!
    return {
      record,
      methods: exports?.methods ?? [],
      jobNames: exports?.jobNames ?? [],
      // What fails a use (a setupPlugin run again after an eviction, a store failure under a plugin's
      // message) goes on to pino lines, BullMQ's failure reasons and the CLI: without the config's secrets.
      use: (fn, options) => {
        const stateBefore = this.states.get(id)
        let entered = false
        const run = (instance: PluginInstance) => {
          entered = true
          return depth.during(options?.captureDepth ?? 0, () => fn(instance))
        }
        return this.use(id, run).catch((err: unknown) => {
          throw redactError(entered ? err : this.reloadFailure(id, record, stateBefore, err), secretValues(record))
        })
      },
    }
  }

  /**
   * Why an evicted config could not be loaded again inside a use, before the caller's function ran.
   * Not the plugin's (Postgres did not give its attachments or files, its config changed while it
   * was set up: nothing blamed it in its state) becomes PluginConfigUnavailableError; passed on as it
   * was, the ingest chain stored its team's events without the plugin and the job worker gave the job
   * up for good. The plugin's own (it does not compile, setupPlugin failed: this load set its state
   * so; a state left by an earlier load says nothing of this one) and its limits pass unchanged, as
   * does everything the caller's function throws.
   */
  private reloadFailure(id: number, record: PluginConfigRecord, stateBefore: SetupState | undefined, err: unknown): unknown {
    if (err instanceof PluginError || err instanceof PluginLimitError || err instanceof PluginConfigUnavailableError) return err
    const state = this.states.get(id)
    const blamed = state !== stateBefore && (state?.status === 'failed' || state?.status === 'retrying' || state?.status === 'disabled')
    if (blamed) return err
    const error = err instanceof Error ? err.message : String(err)
    return new PluginConfigUnavailableError(record.teamId, [{ id: record.id, pluginName: record.pluginName, error }])
  }

  /** Every use of an instance, its load included, ends by letting the team's memory budget read it. */
  private use<T>(id: number, fn: (instance: PluginInstance) => Promise<T>): Promise<T> {
    const teamId = this.records.get(id)?.teamId
    return this.instances.use(id, async (instance) => {
      try {
        return await fn(instance)
      } finally {
        if (teamId !== undefined) this.memory.used(teamId, instance)
      }
    })
  }

  private depth(id: number): CaptureDepth {
    let depth = this.depths.get(id)
    if (!depth) this.depths.set(id, (depth = new CaptureDepth()))
    return depth
  }

  /** `room`: the pool's, awaited once the team's memory admits the isolate and just before it is made. */
  private async create(id: number, room: () => Promise<void>): Promise<PluginInstance> {
    const record = this.records.get(id)
    if (!record) throw new Error(`plugin config ${id} is not enabled`)
    const checked = this.source(record).then((source) => (checkPluginSource(record, source), source))
    const [source, attachments] = await Promise.all([
      checked.catch((err: unknown) => this.loadFailed(record, 'compile', err)),
      // Not the plugin's fault (Postgres busy or down): said in the worker's log, tried again on next use.
      record.hasAttachments ? loadAttachments(this.services.pool, id).catch((err: unknown) => this.loadFailed(record, 'compile', err)) : {},
    ])
    const host = createHost(record, attachments, this.depth(id), this.services)
    const release = await this.memory.admit(record.teamId)
    try {
      await room()
    } catch (err) {
      release()
      throw err
    }
    const instance = await this.vm
      .load(source, host, {
        ...this.instanceOptions(id),
        owner: `team ${record.teamId}`,
        shared: this.shared.forTeam(record.teamId),
      })
      .catch((err: unknown) => {
        release()
        return this.loadFailed(record, 'evaluate', err)
      })
    this.memory.track(record.teamId, instance, release)
    this.loadFailures.loaded(record)
    this.loadedFrom.set(instance, record)
    // Known before setup runs, so hand-offs to exporters do not depend on setup having succeeded here.
    this.exports.set(id, { methods: instance.methods, jobNames: instance.jobNames })
    this.capabilities.learned(record, instance)
    return instance
  }

  private instanceOptions(id: number): PluginInstanceOptions {
    const p = this.services.plugins
    return {
      configId: id,
      memoryLimitMb: p.memoryLimitMb,
      semiSpaceMb: p.semiSpaceMb,
      timeoutMs: p.timeoutMs,
      fetchAllowedHosts: p.fetchAllowedHosts,
      closedServices: this.services.closedServices,
      hostWorkMaxBytes: p.hostWorkMaxBytes,
      backgroundCpuMsPerMinute: p.backgroundCpuMsPerMinute,
      capturesPerEvent: p.capturesPerEvent,
      capturesPerCall: p.capturesPerCall,
      captureMaxEventBytes: this.services.capturer.maxEventBytes,
      cacheMaxKeyBytes: p.cacheMaxKeyBytes,
      cacheMaxValueBytes: p.cacheMaxValueBytes,
      storageMaxValueBytes: p.storageMaxValueBytes,
      jobMaxPayloadBytes: p.jobMaxPayloadBytes,
      runtimeSnapshot: p.runtimeSnapshot,
      onBreach: (error) => void this.breached(id, error),
    }
  }

  /**
   * The circuit breaker: breaches are counted fleet-wide; at PLUGIN_BREAKER_MAX_BREACHES within
   * PLUGIN_BREAKER_WINDOW_MS the config is disabled for every worker with the reason in its logs.
   * Its team's other plugins go on without it.
   */
  private async breached(id: number, error: PluginLimitError): Promise<void> {
    const record = this.records.get(id)
    if (!record || this.tripping.has(id)) return
    const { logs, logger, pool, redis, queuePrefix, registry } = this.services
    let count: number
    try {
      count = await this.breaker.record(id)
    } catch (err) {
      logger.warn({ plugin_config_id: id, err: (err as Error).message }, 'plugin limit breach not counted (Redis unavailable)')
      return
    }
    if (!this.breaker.tripped(count) || this.tripping.has(id)) return
    this.tripping.add(id)
    try {
      const target = logTarget(record)
      const reason = this.breaker.reason(error.limit, count, redact(error.message, target.secrets))
      await disableConfig(pool, id, reason, 'PluginLimitError')
      this.setState(id, { status: 'disabled', reason })
      logs.write(target, 'SYSTEM', 'ERROR', reason)
      countBreakerDisabled(registry, error.limit)
      await this.breaker.reset(id)
      await publishReload(redis, queuePrefix, { reason: 'limits breached', teamId: record.teamId, pluginConfigId: id })
    } catch (err) {
      logger.error({ plugin_config_id: id, err: (err as Error).message }, 'plugin config breaching its limits could not be disabled')
    } finally {
      this.tripping.delete(id)
    }
  }

  /**
   * A plugin that cannot be loaded is tried again on the setup backoff (5 s, 10 s, … capped at the
   * delay before setup's last attempt), not on every batch; it stays enabled, since only a new
   * version (or config change), which reloads it at once, can fix it. Errors that are not the
   * plugin's (Postgres unreachable) leave it pending, tried again on next use.
   */
  private loadFailed(record: PluginConfigRecord, stage: 'compile' | 'evaluate', err: unknown): never {
    const reason = loadFailureReason(stage, err)
    const current = this.records.get(record.id)?.signature === record.signature
    if (reason === null || !current) {
      if (reason === null)
        this.services.logger.warn({ plugin_config_id: record.id, err: (err as Error).message }, 'plugin config not loaded, tried again on next use')
      throw err
    }
    const { plugins, timeScale } = this.services
    const previous = this.states.get(record.id)
    const attempt = (previous?.status === 'failed' ? previous.attempts : 0) + 1
    const delay = setupRetryDelayMs(Math.min(attempt, plugins.setupMaxAttempts), timeScale)
    const message = redact((err as Error).message, logTarget(record).secrets)
    this.setState(record.id, { status: 'failed', attempts: attempt, nextAttemptAt: Date.now() + delay, lastError: message, reason })
    this.loadFailures.failed({ record, reason, message, attempt, retryInMs: delay })
    throw err
  }

  /** Compiled once per plugin version and shared by every config of that plugin. */
  private source(record: PluginConfigRecord): Promise<PluginSource> {
    const key = sourceKey(record)
    let source = this.sources.get(key)
    if (!source) {
      source = loadPluginFiles(this.services.pool, record.pluginId, record.contentHash).then((files) => sourceFromFiles(files))
      source.catch(() => this.sources.delete(key))
      this.sources.set(key, source)
    }
    return source
  }

  private async setup(id: number, instance: PluginInstance): Promise<void> {
    // The record the instance was made from: a reload can replace or remove the config's record
    // (a new version, a disable by the breaker) while the instance is created and set up.
    const record = this.loadedFrom.get(instance) ?? this.records.get(id)!
    const target = logTarget(record)
    const { logs, plugins, timeScale } = this.services
    const previous = this.states.get(id)
    try {
      if (instance.hasMethod('setupPlugin')) await instance.call('setupPlugin', [])
    } catch (err) {
      if (!this.current(id, record)) throw err
      const message = redact(err instanceof PluginError ? err.pluginMessage : (err as Error).message, target.secrets)
      const attempt = (previous?.status === 'retrying' ? previous.attempts : 0) + 1
      const firstAttemptAt = previous?.status === 'retrying' ? previous.firstAttemptAt : Date.now()
      const delay = setupRetryDelayMs(attempt, timeScale)
      const withinWindow = Date.now() + delay - firstAttemptAt <= plugins.setupRetryWindowMs / timeScale
      if (err instanceof PluginError && err.isRetryError && attempt < plugins.setupMaxAttempts && withinWindow) {
        this.setState(id, { status: 'retrying', attempts: attempt, firstAttemptAt, nextAttemptAt: Date.now() + delay, lastError: message })
        logs.write(
          target,
          'SYSTEM',
          'WARN',
          `setupPlugin failed with RetryError (attempt ${attempt} of ${plugins.setupMaxAttempts}), retrying in ${Math.round(delay / 1000)} s: ${message}`,
        )
      } else {
        const reason =
          err instanceof PluginError && err.isRetryError
            ? `setupPlugin still failing with RetryError after ${attempt} attempts: ${message}`
            : `setupPlugin failed: ${message}`
        // Disabled here only once Postgres says so: the reconcile never re-enables a config it still
        // reads as enabled, so a failed UPDATE must leave it to be set up (and disabled) again.
        try {
          await disableConfig(this.services.pool, id, reason)
        } catch (disableErr) {
          this.services.logger.error(
            { plugin_config_id: id, err: (disableErr as Error).message },
            'plugin config whose setupPlugin failed could not be disabled; set up again on next use',
          )
          throw disableErr
        }
        this.setState(id, { status: 'disabled', reason }, attempt)
        logs.write(target, 'SYSTEM', 'ERROR', `plugin disabled: ${reason}`, err instanceof PluginError ? err.pluginStack : undefined)
        await publishReload(this.services.redis, this.services.queuePrefix, { reason: 'setup failed', teamId: record.teamId, pluginConfigId: id })
      }
      throw err
    }
    if (!this.current(id, record)) {
      // Not put in use: its config is gone or runs another version now; the next use loads that.
      await this.teardown(id, instance, 'its config changed while it was set up')
      throw new PluginDisposedError(`plugin config ${id} changed or was disabled while ${record.pluginName} was set up; it is loaded again on next use`)
    }
    this.ready(id, instance)
  }

  /** Whether the config is still enabled with this version and settings (a re-read makes new record objects for unchanged configs). */
  private current(id: number, record: PluginConfigRecord): boolean {
    return this.records.get(id)?.signature === record.signature
  }

  private ready(id: number, instance: PluginInstance): void {
    const previous = this.states.get(id)
    this.setState(id, { status: 'ready' }, (previous?.status === 'retrying' ? previous.attempts : 0) + 1)
    const record = this.records.get(id)!
    const text = `plugin loaded (version ${record.pluginVersion}; methods: ${instance.methods.join(', ') || 'none'})`
    // Back after an eviction to make room, with nothing changed: routine, and a crowded process does
    // it for every config every minute (two log rows each). A first load or a reload after a change is news.
    if (this.evictedForRoom.delete(id))
      this.services.logger.debug({ plugin_config_id: id, plugin: record.pluginName }, `${text} again after an eviction (room or rss)`)
    else this.services.logs.write(logTarget(record), 'SYSTEM', 'INFO', text)
  }

  /** `attempts`: setupPlugin calls it took to reach this state, for the published view. */
  private setState(id: number, state: SetupState, attempts = 0): void {
    this.states.set(id, state)
    const methods = this.exports.get(id)?.methods
    this.published.publish(id, methods ? { ...publishedState(state, attempts), methods } : publishedState(state, attempts))
  }

  private async teardown(id: number, instance: PluginInstance, reason: string): Promise<void> {
    // The record it was loaded from: by now a reload may have replaced or removed the config's record.
    const record = this.loadedFrom.get(instance) ?? this.records.get(id)
    if (!record) return
    // Unloaded to make room or for the process's RSS: the operator's concern, not the team's news
    // (the crowding warning and the guard say it), so neither this nor the next load is in its logs.
    const routine = reason === 'room' || reason === 'rss'
    // Before teardownPlugin runs: the config may be used, and loaded again, while it does.
    if (routine && this.current(id, record)) this.evictedForRoom.add(id)
    const target = logTarget(record)
    if (instance.hasMethod('teardownPlugin')) {
      try {
        await instance.call('teardownPlugin', [])
      } catch (err) {
        this.services.logs.write(
          target,
          'PLUGIN',
          'ERROR',
          `teardownPlugin failed: ${redact(err instanceof PluginError ? err.pluginMessage : (err as Error).message, target.secrets)}`,
        )
      }
    }
    if (routine) {
      if (reason === 'room') {
        this.crowded.evictedToMakeRoom()
        this.evictedForRoomCounter?.inc()
      }
      const why = reason === 'room' ? 'evicted to make room for another' : 'while the process is over PLUGIN_RSS_LIMIT_MB'
      this.services.logger.debug({ plugin_config_id: id, plugin: record.pluginName }, `plugin unloaded (${reason}): idle, ${why}`)
      return
    }
    const why =
      reason === 'memory'
        ? "memory: the plugins of all teams in this process held more than PLUGIN_PROCESS_MEMORY_LIMIT_MB, this team's among the most; loaded again on next use"
        : reason
    this.services.logs.write(target, 'SYSTEM', 'INFO', `plugin unloaded (${why})`)
  }
}

function publishedState(state: SetupState, attempts: number): Omit<PublishedSetupState, 'updatedAt' | 'seenAt'> {
  switch (state.status) {
    case 'retrying':
    case 'failed':
      return { status: state.status, attempts: state.attempts, nextAttemptAt: state.nextAttemptAt, lastError: state.lastError }
    case 'disabled':
      return { status: 'disabled', attempts, nextAttemptAt: null, lastError: state.reason }
    default:
      return { status: state.status, attempts, nextAttemptAt: null, lastError: null }
  }
}

/** What `sources` keeps a plugin version's compiled code under. */
function sourceKey(record: PluginConfigRecord): string {
  return `${record.pluginId}:${record.contentHash}`
}
