import type { IngestEvent } from '@plugin-server/core'
import { runEventChain, toPluginEvent } from '@plugin-server/ingestion'
import { exportEventsToIgnore } from '@plugin-server/meta'
import type { BatchJsonResult, PluginEvent } from '@plugin-server/plugin-vm'
import { shownHeaders, shownUrl } from './dry-net'
import type { TryStep } from './interfaces'
import { processedEvent } from './processed-event'
import type { TryPlugin } from './try-plugin'

export interface ChainRun {
  output: PluginEvent | null
  dropped: boolean
  steps: TryStep[]
}

const EXPORT_METHODS = ['onEvent', 'onSnapshot', 'exportEvents'] as const

/** Anything else is not an event (the exporters refuse it the same way). */
function isWebhook(value: unknown): value is { url: string } {
  return typeof value === 'object' && value !== null && typeof (value as { url?: unknown }).url === 'string'
}

/** A whole call that failed: its step already says why, in the dry run's words. */
class StepFailed extends Error {}

/**
 * The event's way through the plugins, decided by ingestion's own chain (runEventChain): each
 * plugin is set up when its turn comes and its processEvent output feeds the next (a failure keeps
 * the event as it was, null drops it and ends the run), the output is parsed and stamped as the
 * ingest worker would store it; then the stored event goes to onEvent (onSnapshot), exportEvents
 * and composeWebhook of every plugin that is set up; then each is torn down.
 */
export async function runTryChain(plugins: TryPlugin[], input: IngestEvent): Promise<ChainRun> {
  const steps: TryStep[] = []
  const started = new Set<TryPlugin>()
  const ready: TryPlugin[] = []
  const processSteps = new Map<TryPlugin, TryStep>()
  const start = async (plugin: TryPlugin): Promise<void> => {
    if (started.has(plugin)) return
    started.add(plugin)
    steps.push(...(await plugin.start()))
    if (plugin.ready) ready.push(plugin)
  }
  const [slot] = await runEventChain([input], plugins, {
    runs: async (plugin) => {
      await start(plugin)
      return plugin.ready && plugin.has('processEvent')
    },
    call: async (plugin, json) => {
      const outcome = await plugin.run('processEvent', (instance, timeoutMs) => instance.processEventBatchJson(json, { timeoutMs }))
      steps.push(outcome.step)
      processSteps.set(plugin, outcome.step)
      if (!outcome.ok) throw new StepFailed(outcome.step.error ?? 'processEvent failed')
      return outcome.value as BatchJsonResult[]
    },
    deferred: () => ready.filter((p) => EXPORT_METHODS.some((m) => p.has(m))).map((p) => p.label),
    linkDone: async ({ link, inputs, dropped, failures }) => {
      const step = processSteps.get(link)!
      const [failure] = failures
      if (failure) {
        if (step.error === null) link.fail(step, `${failure.error.name}: ${failure.error.message}`)
      } else {
        const output = dropped.length > 0 ? null : inputs[0].outputs.at(-1)?.json
        step.output = link.shown(output ? JSON.parse(output) : null)
      }
    },
    // Returned, but not something ingestion could store: that plugin's step failed after all.
    invalid: async (link, failures) => {
      const step = processSteps.get(link)
      if (step) link.fail(step, failures[0].error.message)
    },
  })
  const dropped = slot.droppedBy !== null
  let output: PluginEvent | null = null
  if (!dropped) {
    // Session recordings skip the chain, so their plugins are set up here, for onSnapshot.
    for (const plugin of plugins) await start(plugin)
    output = toPluginEvent(slot.event)
    steps.push(...(await deliver(ready, output)))
  }
  for (const plugin of ready) {
    if (plugin.alive && plugin.has('teardownPlugin'))
      steps.push((await plugin.run('teardownPlugin', (instance, timeoutMs) => instance.call('teardownPlugin', [], { timeoutMs }))).step)
  }
  return { output, dropped, steps }
}

/** What the exporters would do with the stored event; composeWebhook's request is shown, not sent. */
async function deliver(ready: TryPlugin[], stored: PluginEvent): Promise<TryStep[]> {
  const steps: TryStep[] = []
  const event = processedEvent(stored)
  const snapshot = stored.event === '$snapshot'
  for (const plugin of ready) {
    if (snapshot) {
      if (plugin.has('onSnapshot'))
        steps.push((await plugin.run('onSnapshot', (instance, timeoutMs) => instance.call('onSnapshot', [event], { timeoutMs }))).step)
    } else if (plugin.has('onEvent')) {
      steps.push((await plugin.run('onEvent', (instance, timeoutMs) => instance.call('onEvent', [event], { timeoutMs }))).step)
    }
    if (plugin.has('exportEvents') && !exportEventsToIgnore(plugin.config).has(stored.event)) {
      steps.push((await plugin.run('exportEvents', (instance, timeoutMs) => instance.call('exportEvents', [[event]], { timeoutMs }))).step)
    }
    if (!snapshot && plugin.has('composeWebhook')) {
      const outcome = await plugin.run('composeWebhook', (instance, timeoutMs) => instance.call('composeWebhook', [event], { timeoutMs }))
      if (outcome.ok && outcome.value !== null && outcome.value !== undefined && !isWebhook(outcome.value)) {
        plugin.fail(outcome.step, 'composeWebhook returned something other than {url, body, headers, method} or null')
      } else if (outcome.ok) {
        outcome.step.output = plugin.shown(isWebhook(outcome.value) ? webhookView(outcome.value) : null)
      }
      steps.push(outcome.step)
    }
  }
  return steps
}

/** The request the exporter would send, as it would send it (POST unless the plugin says otherwise). */
function webhookView(webhook: { url: string; method?: unknown; headers?: unknown; body?: unknown }): Record<string, unknown> {
  const headers = typeof webhook.headers === 'object' && webhook.headers !== null ? shownHeaders(webhook.headers as Record<string, string>) : {}
  const method = typeof webhook.method === 'string' ? webhook.method.toUpperCase() : 'POST'
  return { url: shownUrl(webhook.url), method, headers, body: webhook.body ?? null, sent: false }
}
