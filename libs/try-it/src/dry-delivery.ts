import { deliver, ExportMethod, methodReceives, Webhook } from '@plugin-server/export'
import { exportEventsToIgnore } from '@plugin-server/plugin-runtime'
import type { PluginEvent, PluginInstance } from '@plugin-server/plugin-vm'
import { shownHeaders, shownUrl } from './dry-net'
import type { TryStep } from './interfaces'
import { processedEvent } from './processed-event'
import type { TryPlugin } from './try-plugin'

/** The export methods a dry run calls, in the order its steps show them. */
const DELIVERY_ORDER: readonly ExportMethod[] = ['onEvent', 'onSnapshot', 'exportEvents', 'composeWebhook']

/**
 * What the exporters would do with the stored event, through the exporters' own `deliver`: the
 * same calls, the same refusal of a composeWebhook result that is not a webhook. Only the sending
 * differs: the composed webhook is shown (with `sent: false`), never sent.
 */
export async function dryDelivery(ready: TryPlugin[], stored: PluginEvent): Promise<TryStep[]> {
  const steps: TryStep[] = []
  for (const plugin of ready) {
    const methods = DELIVERY_ORDER.filter(
      (method) =>
        plugin.has(method) && methodReceives(method, stored.event) && (method !== 'exportEvents' || !exportEventsToIgnore(plugin.config).has(stored.event)),
    )
    for (const method of methods) steps.push(await dryDeliver(plugin, method, stored))
  }
  return steps
}

async function dryDeliver(plugin: TryPlugin, method: ExportMethod, stored: PluginEvent): Promise<TryStep> {
  let composed: Webhook | null = null
  const outcome = await plugin.run(method, async (instance, timeoutMs) => {
    const bounded = new BoundedInstance(instance, timeoutMs)
    const delivery = await deliver(bounded, method, [processedEvent(stored)], async (webhook) => void (composed = webhook))
    const failure = delivery.failed ?? delivery.retry
    // The plugin's own error, so the step reads as the plugin's; otherwise what deliver refused.
    if (failure) throw bounded.thrown ?? new Error(failure.message)
  })
  if (method === 'composeWebhook' && outcome.ok) outcome.step.output = plugin.shown(composed === null ? null : webhookView(composed))
  return outcome.step
}

/** The dry run's instance as deliver uses it: every call bounded by what is left of the run, its error kept. */
class BoundedInstance {
  thrown: unknown = undefined

  constructor(
    private readonly instance: PluginInstance,
    private readonly timeoutMs: number,
  ) {}

  async use<T>(fn: (instance: PluginInstance) => Promise<T>): Promise<T> {
    const call: PluginInstance['call'] = async (method, args, options) => {
      try {
        return await this.instance.call(method, args, { timeoutMs: this.timeoutMs, ...options })
      } catch (err) {
        this.thrown = err
        throw err
      }
    }
    return fn(new Proxy(this.instance, { get: (target, key) => (key === 'call' ? call : Reflect.get(target, key, target)) }))
  }
}

/** The request the exporter would send, as it would send it (POST unless the plugin says otherwise). */
function webhookView(webhook: Webhook): Record<string, unknown> {
  const headers = typeof webhook.headers === 'object' && webhook.headers !== null ? shownHeaders(webhook.headers) : {}
  const method = typeof webhook.method === 'string' ? webhook.method.toUpperCase() : 'POST'
  return { url: shownUrl(webhook.url), method, headers, body: webhook.body ?? null, sent: false }
}
