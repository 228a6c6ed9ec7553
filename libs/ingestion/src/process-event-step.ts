import { KeyedInterval, type IngestEvent } from '@plugin-server/core'
import { ActiveConfig, logTarget, PluginConfigRecord, PluginConfigUnavailableError, PluginLogWriter, setConfigError } from '@plugin-server/plugin-runtime'
import { redact } from '@plugin-server/secrets'
import { EXPORTING_METHODS, PluginStoreError, type PluginMethodName } from '@plugin-server/plugin-vm'
import type { Pool } from 'pg'
import { eventsByTeam } from './events-by-team'
import type { BatchStep } from './interfaces'
import { observeCall, PluginChainMetrics } from './plugin-chain-metrics'
import type { ProcessingMetrics } from './processing-metrics'
import { ProcessingTally, TallyTarget } from './processing-tally'
import { ChainFailure, LinkReport, runEventChain } from './event-chain'

export interface TeamPlugins {
  /** With `methods`, only the configs exporting one of them are set up (and returned). */
  teamConfigs(teamId: number, methods?: readonly PluginMethodName[]): Promise<ActiveConfig[]>
  /** The configs exporting one of `methods`, from what their versions export, without setting them up (the exporters do). */
  teamExporting?(teamId: number, methods: readonly PluginMethodName[]): Promise<readonly PluginConfigRecord[]>
}

export interface ProcessEventDeps {
  pool: Pool
  logs: PluginLogWriter
  metrics: PluginChainMetrics
  /** Per-config counts and times, added up per batch and written at most once a second (the status page, the configs list). */
  processing?: ProcessingMetrics
  /** Deadline of one processEvent batch call (PLUGIN_PROCESS_EVENT_TIMEOUT_MS); the instance's own when unset. */
  timeoutMs?: number
  /** CAPTURE_MAX_EVENT_BYTES: the largest event a plugin may return (see EventChainHooks.maxEventChars); none when unset. */
  maxEventBytes?: number
}

/** A config as a link of the chain (event-chain.ts), named as `$plugins_*` name it. */
interface ConfigLink {
  config: ActiveConfig
  label: string
}

/** Per config and batch, only the first few failures are logged one by one; the rest are counted. */
const LOGGED_FAILURES_PER_BATCH = 5

/**
 * The shortest time between two writes of a config's last error: a plugin failing on every event had
 * every batch of every worker update the same plugin_configs row, each waiting on its lock behind the
 * others' and leaving a dead row version; the failures between are in the plugin logs and metrics.
 */
const CONFIG_ERROR_WRITE_INTERVAL_MS = 5_000

/** What one step's runs share beside its deps. */
interface StepDeps extends ProcessEventDeps {
  errorWrites: KeyedInterval<number>
}

/**
 * The processEvent chain: for each team, its configs in order, each over the whole batch in one
 * call into its sandbox (a plugin exporting only processEventBatch gets that batch in that call;
 * the sandbox matches what it returns back to the events, so results stay per event). What happens
 * to each event is decided by runEventChain (event-chain.ts), which Try it runs too; this step adds
 * the pooled instances, metrics, the processing tally, plugin logs and config errors around it.
 * A plugin failing while the server's Redis or Postgres failed under its host calls
 * (PluginStoreError), or the server failing to load an evicted config again
 * (PluginConfigUnavailableError), fails the team's part, which BullMQ retries, instead of storing it unenriched.
 */
export function processEventStep(plugins: TeamPlugins, given: ProcessEventDeps): BatchStep {
  const deps: StepDeps = { ...given, errorWrites: new KeyedInterval<number>(CONFIG_ERROR_WRITE_INTERVAL_MS) }
  /** Each event as the chain left it (null: dropped), in the batch's order. */
  const outcomesOf = async (events: IngestEvent[]): Promise<(IngestEvent | null)[]> => {
    const byTeam = eventsByTeam(events)
    const tally = new ProcessingTally()
    /** Each team's events as the chain left them (null: dropped), in the team's order. */
    const outcomes = new Map<number, (IngestEvent | null)[]>()
    try {
      await Promise.all(
        [...byTeam].map(async ([teamId, teamEvents]) => {
          outcomes.set(teamId, await runTeam(await teamPlugins(plugins, teamId), teamEvents, deps, tally))
        }),
      )
    } finally {
      deps.processing?.record(tally)
    }
    if (byTeam.size === 1) return outcomes.values().next().value ?? []
    // In the batch's order, whatever order the teams finished in: each team's next outcome in turn.
    const next = new Map<number, number>()
    return events.map((event) => {
      const i = next.get(event.team_id) ?? 0
      next.set(event.team_id, i + 1)
      return outcomes.get(event.team_id)?.[i] ?? null
    })
  }
  return {
    name: 'processEvent',
    run: async (events) => kept(await outcomesOf(events)),
    // One chain run over the parts' events together: one call into each config's sandbox for all of them.
    runParts: async (parts) => {
      const outcomes = await outcomesOf(parts.flat())
      let at = 0
      return parts.map((part) => kept(outcomes.slice(at, (at += part.length))))
    },
  }
}

function kept(outcomes: (IngestEvent | null)[]): IngestEvent[] {
  const events: IngestEvent[] = []
  for (const outcome of outcomes) if (outcome) events.push(outcome)
  return events
}

interface TeamChain {
  configs: ActiveConfig[]
  /** Labels of the configs that export (they run in the exporters, after storage). */
  deferred: string[]
}

/** Only processEvent configs are set up here: an export-only plugin's setupPlugin belongs to the exporters. */
async function teamPlugins(plugins: TeamPlugins, teamId: number): Promise<TeamChain> {
  if (!plugins.teamExporting) {
    const configs = await plugins.teamConfigs(teamId)
    return { configs, deferred: configs.filter((c) => EXPORTING_METHODS.some((m) => c.methods.includes(m))).map(label) }
  }
  const [configs, exporting] = await Promise.all([plugins.teamConfigs(teamId, ['processEvent']), plugins.teamExporting(teamId, EXPORTING_METHODS)])
  return { configs, deferred: exporting.map((record) => `${record.pluginName} (${record.id})`) }
}

/** The team's events through the shared chain (event-chain.ts), with metrics, tally and logs around it; each event as it comes out, null when dropped. */
async function runTeam({ configs, deferred }: TeamChain, events: IngestEvent[], deps: StepDeps, tally: ProcessingTally): Promise<(IngestEvent | null)[]> {
  if (configs.length === 0 && deferred.length === 0) return events
  const links = configs.map((config): ConfigLink => ({ config, label: label(config) }))
  const slots = await runEventChain(events, links, {
    runs: (link) => link.config.methods.includes('processEvent'),
    call: async (link, batch, count, captureDepth, captured) => {
      const started = performance.now()
      try {
        // Events a plugin captured may capture one event each, not PLUGIN_CAPTURES_PER_EVENT: ten a
        // level made one client event 1 110 events of up to 1 MB by PLUGIN_CAPTURE_MAX_DEPTH.
        const options = { timeoutMs: deps.timeoutMs, capturedEvents: captured }
        return await link.config.use((instance) => instance.processEventBatchText(batch, count, options), { captureDepth })
      } catch (err) {
        if (err instanceof PluginStoreError) {
          deps.logs.write(logTarget(link.config.record), 'SYSTEM', 'WARN', `${err.message}; the batch is retried, its events are stored once the store is back`)
        } else if (err instanceof PluginConfigUnavailableError) {
          deps.logs.write(logTarget(link.config.record), 'SYSTEM', 'WARN', `${err.message}; its events are stored once it is loaded`)
        }
        throw err
      } finally {
        const ms = performance.now() - started
        observeCall(deps.metrics, link.config.record, 'processEvent', ms / 1000)
        tally.called(tallyTarget(link.config), count, ms)
      }
    },
    deferred: () => deferred,
    maxEventChars: deps.maxEventBytes,
    linkDone: (report) => linkDone(report, deps, tally),
    invalid: async ({ config }, failures) => {
      tally.returnedButInvalid(tallyTarget(config), failures.length)
      await reportFailures(config, failures, deps)
    },
    // Not a failure: the events are stored, under their own uuids.
    ignored: async ({ config }, message) => deps.logs.write(logTarget(config.record), 'PLUGIN', 'WARN', message),
  })
  return slots.map((s) => (s.droppedBy === null ? s.event : null))
}

async function linkDone({ link, dropped, returned, failures }: LinkReport<ConfigLink>, deps: StepDeps, tally: ProcessingTally): Promise<void> {
  const target = tallyTarget(link.config)
  if (dropped.length > 0) deps.metrics.dropped.inc({ plugin_config_id: String(link.config.record.id) }, dropped.length)
  // Counted once per link and batch: no per-event lookups.
  tally.dropped(target, dropped.length)
  tally.returned(target, returned)
  tally.failed(target, failures.length)
  if (failures.length > 0) await reportFailures(link.config, failures, deps)
}

async function reportFailures(config: ActiveConfig, failures: ChainFailure<ConfigLink>[], deps: StepDeps): Promise<void> {
  const target = logTarget(config.record)
  deps.metrics.errors.inc({ plugin_config_id: String(config.record.id), method: 'processEvent' }, failures.length)
  for (const { slot, error } of failures.slice(0, LOGGED_FAILURES_PER_BATCH)) {
    deps.logs.write(
      target,
      'PLUGIN',
      'ERROR',
      `processEvent failed on event "${slot.event.event}" (${slot.event.uuid}), kept as it was: ${error.name}: ${error.message}`,
      error.stack,
    )
  }
  if (failures.length > LOGGED_FAILURES_PER_BATCH) {
    deps.logs.write(target, 'PLUGIN', 'ERROR', `processEvent failed on ${failures.length - LOGGED_FAILURES_PER_BATCH} more events of the same batch`)
  }
  if (!deps.errorWrites.due(config.record.id)) return
  const last = failures[failures.length - 1]
  await setConfigError(deps.pool, config.record.id, {
    name: last.error.name,
    message: redact(last.error.message, target.secrets),
    time: new Date().toISOString(),
    event: last.slot.event.event,
  }).catch(() => undefined)
}

function tallyTarget(config: ActiveConfig): TallyTarget {
  return { configId: config.record.id, pluginName: config.record.pluginName }
}

function label(config: ActiveConfig): string {
  return `${config.record.pluginName} (${config.record.id})`
}
