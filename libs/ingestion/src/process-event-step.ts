import type { IngestEvent } from '@plugin-server/core'
import { ActiveConfig, logTarget, PluginConfigRecord, PluginLogWriter, redact, setConfigError } from '@plugin-server/meta'
import type { BatchJsonResult, PluginMethodName, SerializedPluginError } from '@plugin-server/plugin-vm'
import type { Pool } from 'pg'
import type { BatchStep } from './interfaces'
import type { PluginChainMetrics } from './plugin-chain-metrics'
import type { ProcessingMetrics } from './processing-metrics'
import { ProcessingTally, TallyTarget } from './processing-tally'
import { fromPluginEvent, toPluginEvent } from './plugin-event'

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
  /** Per-config counts and times, written once per team's part of a batch (the status page, the configs list). */
  processing?: ProcessingMetrics
  /** Deadline of one processEvent batch call (PLUGIN_PROCESS_EVENT_TIMEOUT_MS); the instance's own when unset. */
  timeoutMs?: number
}

interface Output {
  config: ActiveConfig
  /** The event as this plugin returned it, still serialised. */
  json: string
}

interface Slot {
  event: IngestEvent
  /** The event as the server holds it, serialised once for the first plugin. */
  json: string | null
  /** What each plugin that succeeded on this event returned, in chain order; the last is the current event. */
  outputs: Output[]
  dropped: boolean
  failed: string[]
}

interface Failure {
  slot: Slot
  error: SerializedPluginError
}

/** Per config and batch, only the first few failures are logged one by one; the rest are counted. */
const LOGGED_FAILURES_PER_BATCH = 5
const EXPORT_METHODS = ['onEvent', 'onSnapshot', 'exportEvents'] as const

/**
 * The processEvent chain: for each team, its configs in order, each over the whole batch in one
 * call into its sandbox (a plugin exporting only processEventBatch gets that batch in that call;
 * the sandbox matches what it returns back to the events, so results stay per event). A falsy
 * result drops the event; an error (or a result that is not an event) keeps the event as it was
 * before that plugin and the chain goes on. Whatever a plugin returns, the blame for it lands on
 * that plugin's config and the other events go on.
 */
export function processEventStep(plugins: TeamPlugins, deps: ProcessEventDeps): BatchStep {
  return {
    name: 'processEvent',
    run: async (events) => {
      const byTeam = new Map<number, Slot[]>()
      const slots = events.map((event): Slot => ({ event, json: null, outputs: [], dropped: false, failed: [] }))
      for (const slot of slots) {
        const team = byTeam.get(slot.event.team_id)
        if (team) team.push(slot)
        else byTeam.set(slot.event.team_id, [slot])
      }
      const tally = new ProcessingTally()
      try {
        await Promise.all([...byTeam].map(async ([teamId, teamSlots]) => runTeam(await teamPlugins(plugins, teamId), teamSlots, deps, tally)))
      } finally {
        deps.processing?.record(tally)
      }
      return slots.filter((s) => !s.dropped).map((s) => s.event)
    },
  }
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
    return { configs, deferred: configs.filter((c) => EXPORT_METHODS.some((m) => c.methods.includes(m))).map(label) }
  }
  const [configs, exporting] = await Promise.all([plugins.teamConfigs(teamId, ['processEvent']), plugins.teamExporting(teamId, EXPORT_METHODS)])
  return { configs, deferred: exporting.map((record) => `${record.pluginName} (${record.id})`) }
}

async function runTeam({ configs, deferred }: TeamChain, slots: Slot[], deps: ProcessEventDeps, tally: ProcessingTally): Promise<void> {
  const live = slots.filter((s) => s.event.event !== '$snapshot')
  if (live.length === 0 || (configs.length === 0 && deferred.length === 0)) return
  for (const config of configs) {
    if (!config.methods.includes('processEvent')) continue
    const inputs = live.filter((s) => !s.dropped)
    if (inputs.length === 0) break
    await runConfig(config, inputs, deps, tally)
  }
  await decode(live, deps, tally)
  for (const slot of live) {
    if (slot.dropped) continue
    const succeeded = slot.outputs.map((o) => label(o.config))
    if (succeeded.length === 0 && slot.failed.length === 0 && deferred.length === 0) continue
    slot.event = {
      ...slot.event,
      properties: { ...slot.event.properties, $plugins_succeeded: succeeded, $plugins_failed: slot.failed, $plugins_deferred: deferred },
    }
  }
}

/**
 * Parsed once, after the whole chain, however many plugins it went through. An output that cannot
 * become a stored event is the fault of the plugin that returned it: that config is blamed, and the
 * event falls back to what the plugin before it returned (or to the event as captured).
 */
async function decode(slots: Slot[], deps: ProcessEventDeps, tally: ProcessingTally): Promise<void> {
  const blamed = new Map<ActiveConfig, Failure[]>()
  for (const slot of slots) {
    if (slot.dropped) continue
    for (let last = slot.outputs.at(-1); last !== undefined; last = slot.outputs.at(-1)) {
      const message = decodeInto(slot, last.json)
      if (message === null) break
      slot.outputs.pop()
      const failures = blamed.get(last.config) ?? []
      failures.push({ slot, error: { name: 'Error', message, isRetryError: false } })
      blamed.set(last.config, failures)
    }
  }
  for (const [config, failures] of blamed) {
    tally.returnedButInvalid(tallyTarget(config), failures.length)
    await reportFailures(config, failures, deps)
  }
}

/** Sets the slot's event from a plugin's output; what is wrong with the output otherwise. */
function decodeInto(slot: Slot, json: string): string | null {
  let output: unknown
  try {
    output = JSON.parse(json)
  } catch (err) {
    return `processEvent returned an event that is not valid JSON: ${(err as Error).message}`
  }
  try {
    slot.event = fromPluginEvent(slot.event, output)
    return null
  } catch (err) {
    return (err as Error).message
  }
}

async function runConfig(config: ActiveConfig, inputs: Slot[], deps: ProcessEventDeps, tally: ProcessingTally): Promise<void> {
  const id = String(config.record.id)
  const target = tallyTarget(config)
  const timer = deps.metrics.callSeconds.startTimer({ plugin_config_id: id, method: 'processEvent' })
  const started = performance.now()
  let results: readonly BatchJsonResult[]
  try {
    let depth = 0
    for (const slot of inputs) depth = Math.max(depth, slot.event.plugin_capture_depth ?? 0)
    const json = inputs.map((s) => s.outputs.at(-1)?.json ?? (s.json ??= JSON.stringify(toPluginEvent(s.event))))
    const options = deps.timeoutMs === undefined ? undefined : { timeoutMs: deps.timeoutMs }
    results = await config.use((instance) => instance.processEventBatchJson(json, options), { captureDepth: depth })
    if (!Array.isArray(results) || results.length !== inputs.length) {
      throw new Error(`processEvent returned ${Array.isArray(results) ? results.length : 'no'} results for a batch of ${inputs.length} events`)
    }
  } catch (err) {
    // The whole call failed (time or memory limit, isolate gone): this plugin's step fails for these events only.
    const error = toSerializedError(err)
    results = inputs.map(() => ({ ok: false, error }))
  } finally {
    timer()
    tally.called(target, inputs.length, performance.now() - started)
  }
  const failures: Failure[] = []
  results.forEach((result, i) => {
    const slot = inputs[i]
    if (!result?.ok) return failures.push({ slot, error: toSerializedError(result?.error) })
    if (result.json === null) {
      slot.dropped = true
      deps.metrics.dropped.inc({ plugin_config_id: id })
      tally.dropped(target)
      return
    }
    // The sandbox checks the event; this cheap check keeps one plugin's broken output from reaching the next plugin.
    if (!isObjectText(result.json)) {
      return failures.push({ slot, error: { name: 'Error', message: 'processEvent returned something that is not an event object', isRetryError: false } })
    }
    slot.outputs.push({ config, json: result.json })
    tally.returned(target)
  })
  tally.failed(target, failures.length)
  if (failures.length > 0) await reportFailures(config, failures, deps)
}

function isObjectText(json: unknown): json is string {
  return typeof json === 'string' && json.length >= 2 && json.charCodeAt(0) === 0x7b && json.charCodeAt(json.length - 1) === 0x7d
}

/** A host error, or an error record from the sandbox, which a subverted sandbox could have shaped as anything. */
function toSerializedError(value: unknown): SerializedPluginError {
  if (typeof value !== 'object' || value === null) return { name: 'Error', message: `processEvent failed: ${String(value)}`, isRetryError: false }
  const { name, message, isRetryError, stack } = value as Record<string, unknown>
  return {
    name: typeof name === 'string' && name !== '' ? name : 'Error',
    message: typeof message === 'string' ? message : (JSON.stringify(message) ?? 'no message'),
    isRetryError: isRetryError === true,
    // The log writer keeps only its frames, sanitised.
    ...(typeof stack === 'string' ? { stack } : {}),
  }
}

async function reportFailures(config: ActiveConfig, failures: Failure[], deps: ProcessEventDeps): Promise<void> {
  const target = logTarget(config.record)
  const name = label(config)
  deps.metrics.errors.inc({ plugin_config_id: String(config.record.id), method: 'processEvent' }, failures.length)
  for (const { slot } of failures) slot.failed.push(name)
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
  const last = failures[failures.length - 1]
  await setConfigError(deps.pool, config.record.id, {
    name: last.error.name,
    message: redact(last.error.message, target.secrets),
    time: new Date().toISOString(),
    event: last.slot.event.event,
  }).catch(() => undefined)
}

function label(config: ActiveConfig): string {
  return `${config.record.pluginName} (${config.record.id})`
}
function tallyTarget(config: ActiveConfig): TallyTarget {
  return { configId: config.record.id, pluginName: config.record.pluginName }
}
