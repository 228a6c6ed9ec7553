import type { IngestEvent } from '@plugin-server/core'
import { ActiveConfig, logTarget, PluginLogWriter, redact, setConfigError } from '@plugin-server/meta'
import type { BatchJsonResult, PluginEvent, SerializedPluginError } from '@plugin-server/plugin-vm'
import type { Pool } from 'pg'
import type { BatchStep } from './interfaces'
import type { PluginChainMetrics } from './plugin-chain-metrics'
import { fromPluginEvent, toPluginEvent } from './plugin-event'

export interface TeamPlugins {
  teamConfigs(teamId: number): Promise<ActiveConfig[]>
}

interface Slot {
  event: IngestEvent
  /** The event as the last plugin that succeeded returned it, still serialised. */
  json: string | null
  dropped: boolean
  succeeded: string[]
  failed: string[]
}

/** Per config and batch, only the first few failures are logged one by one; the rest are counted. */
const LOGGED_FAILURES_PER_BATCH = 5
const EXPORT_METHODS = ['onEvent', 'onSnapshot', 'exportEvents'] as const

/**
 * The processEvent chain: for each team, its configs in order, each over the whole batch in one
 * call into its sandbox. A falsy result drops the event; an error (or a result that is not an
 * event) keeps the event as it was before that plugin and the chain goes on.
 */
export function processEventStep(plugins: TeamPlugins, deps: { pool: Pool; logs: PluginLogWriter; metrics: PluginChainMetrics }): BatchStep {
  return {
    name: 'processEvent',
    run: async (events) => {
      const byTeam = new Map<number, Slot[]>()
      const slots = events.map((event): Slot => ({ event, json: null, dropped: false, succeeded: [], failed: [] }))
      for (const slot of slots) byTeam.set(slot.event.team_id, [...(byTeam.get(slot.event.team_id) ?? []), slot])
      await Promise.all([...byTeam].map(async ([teamId, teamSlots]) => runTeam(await plugins.teamConfigs(teamId), teamSlots, deps)))
      return slots.filter((s) => !s.dropped).map((s) => s.event)
    },
  }
}

async function runTeam(configs: ActiveConfig[], slots: Slot[], deps: { pool: Pool; logs: PluginLogWriter; metrics: PluginChainMetrics }): Promise<void> {
  const live = slots.filter((s) => s.event.event !== '$snapshot')
  if (live.length === 0 || configs.length === 0) return
  for (const config of configs) {
    if (!config.methods.includes('processEvent')) continue
    const inputs = live.filter((s) => !s.dropped)
    if (inputs.length === 0) break
    await runConfig(config, inputs, deps)
  }
  const deferred = configs.filter((c) => EXPORT_METHODS.some((m) => c.methods.includes(m))).map(label)
  for (const slot of live) {
    if (slot.dropped) continue
    // Parsed once, after the whole chain, however many plugins it went through.
    if (slot.succeeded.length > 0) slot.event = fromPluginEvent(slot.event, JSON.parse(slot.json!) as PluginEvent)
    if (slot.succeeded.length === 0 && slot.failed.length === 0 && deferred.length === 0) continue
    slot.event = {
      ...slot.event,
      properties: { ...slot.event.properties, $plugins_succeeded: slot.succeeded, $plugins_failed: slot.failed, $plugins_deferred: deferred },
    }
  }
}

async function runConfig(config: ActiveConfig, inputs: Slot[], deps: { pool: Pool; logs: PluginLogWriter; metrics: PluginChainMetrics }): Promise<void> {
  const id = String(config.record.id)
  const name = label(config)
  const timer = deps.metrics.callSeconds.startTimer({ plugin_config_id: id, method: 'processEvent' })
  let results: BatchJsonResult[]
  try {
    const depth = Math.max(0, ...inputs.map((s) => s.event.plugin_capture_depth ?? 0))
    const json = inputs.map((s) => (s.json ??= JSON.stringify(toPluginEvent(s.event))))
    results = await config.use((instance) => instance.processEventBatchJson(json), { captureDepth: depth })
  } catch (err) {
    // The whole call failed (time or memory limit, isolate gone): this plugin's step fails for these events only.
    const error = { name: (err as Error).name, message: (err as Error).message, isRetryError: false }
    results = inputs.map(() => ({ ok: false, error }))
  } finally {
    timer()
  }
  const failures: { slot: Slot; error: SerializedPluginError }[] = []
  results.forEach((result, i) => {
    const slot = inputs[i]
    if (!result.ok) return failures.push({ slot, error: result.error })
    if (result.json === null) {
      slot.dropped = true
      deps.metrics.dropped.inc({ plugin_config_id: id })
      return
    }
    slot.json = result.json
    slot.succeeded.push(name)
  })
  if (failures.length > 0) await reportFailures(config, failures, deps)
}

async function reportFailures(
  config: ActiveConfig,
  failures: { slot: Slot; error: SerializedPluginError }[],
  deps: { pool: Pool; logs: PluginLogWriter; metrics: PluginChainMetrics },
): Promise<void> {
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
