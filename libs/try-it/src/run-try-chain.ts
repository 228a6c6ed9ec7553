import type { BatchEventResult, PluginEvent } from '@plugin-server/plugin-vm'
import { shownHeaders, shownUrl } from './dry-net'
import type { TryStep } from './interfaces'
import { exportEventsToIgnore } from '@plugin-server/meta'
import { chainOutput, processedEvent } from './processed-event'
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

/**
 * The event's way through the plugins as ingestion and the exporters would take it: each plugin is
 * set up and its processEvent output feeds the next (a failure keeps the event as it was, null drops
 * it and ends the run); then the stored event goes to onEvent (onSnapshot), exportEvents and
 * composeWebhook of every plugin that is set up; then each is torn down.
 */
export async function runTryChain(plugins: TryPlugin[], input: PluginEvent): Promise<ChainRun> {
  const steps: TryStep[] = []
  const ready: TryPlugin[] = []
  const succeeded: string[] = []
  const failed: string[] = []
  const snapshot = input.event === '$snapshot'
  let current = input
  let dropped = false
  for (const plugin of plugins) {
    steps.push(...(await plugin.start()))
    if (!plugin.ready) continue
    ready.push(plugin)
    // Ingestion does not run processEvent on session recordings.
    if (snapshot || !plugin.has('processEvent')) continue
    const event = current
    const outcome = await plugin.run('processEvent', async (instance, timeoutMs) => (await instance.processEventBatch([event], { timeoutMs }))[0])
    steps.push(outcome.step)
    const batch = outcome.value as BatchEventResult | undefined
    if (!outcome.ok || !batch) {
      failed.push(plugin.label)
    } else if (!batch.ok) {
      plugin.fail(outcome.step, `${batch.error.name}: ${batch.error.message}`)
      failed.push(plugin.label)
    } else {
      outcome.step.output = plugin.shown(batch.event)
      if (batch.event === null) {
        dropped = true
        break
      }
      current = batch.event
      succeeded.push(plugin.label)
    }
  }
  let output: PluginEvent | null = null
  if (!dropped) {
    const deferred = ready.filter((p) => EXPORT_METHODS.some((m) => p.has(m))).map((p) => p.label)
    output = snapshot ? input : chainOutput(input, current, { succeeded, failed, deferred })
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
