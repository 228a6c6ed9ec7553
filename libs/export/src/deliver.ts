import type { CallOptions, PluginInstance } from '@plugin-server/plugin-vm'
import { PLUGIN_CAPTURE_LIB } from '@plugin-server/plugin-runtime'
import { classifyError, WebhookError } from './classify-error'
import type { DeliveryOutcome, ExportMethod, ProcessedPluginEvent } from './interfaces'
import { isWebhook, sendWebhook, Webhook, WebhookOptions } from './send-webhook'

/** What delivery needs of a config (an ActiveConfig is one): its instance for the length of a call. */
export interface DeliveryTarget {
  use<T>(fn: (instance: PluginInstance) => Promise<T>): Promise<T>
}

/** Takes what composeWebhook returned instead of sending it: Try it records it, so a dry run never sends. */
export type WebhookSender = (webhook: Webhook) => Promise<void>

/**
 * A delivery that ran out of time waiting (a destination that hangs) is retried on the export
 * backoff, as PostHog retried it: not a breach the circuit breaker counts towards disabling the config.
 */
const RETRIED: CallOptions = { retriedWhenWaiting: true }

/** Calls per event (onEvent, onSnapshot, composeWebhook) in flight at once within one job. */
const PER_EVENT_CONCURRENCY = 8

/**
 * One attempt at delivering `events` through one method of one config. exportEvents takes the whole
 * batch in one call; the per-event methods report per event, so only the failed ones are retried.
 */
export async function deliver(
  config: DeliveryTarget,
  method: ExportMethod,
  events: readonly ProcessedPluginEvent[],
  webhook: WebhookOptions | WebhookSender,
): Promise<DeliveryOutcome> {
  if (method === 'exportEvents') {
    let called = false
    try {
      await config.use((instance) => {
        called = true
        return instance.call('exportEvents', [events], RETRIED)
      })
      return { delivered: [...events], retry: null, failed: null }
    } catch (err) {
      // Not the plugin's answer but its load failing (its attachments not read while Postgres fails over,
      // its module not evaluating): the job's attempt fails and is retried, as the per-event methods' do.
      // Classified here, a batch became a dead letter at once.
      if (!called) throw err
      const { retry, message } = classifyError(err)
      const group = { events: [...events], errors: 1, message }
      return retry ? { delivered: [], retry: group, failed: null } : { delivered: [], retry: null, failed: group }
    }
  }
  const results = await config.use((instance) => mapLimit(events, PER_EVENT_CONCURRENCY, (event) => callOne(instance, method, event, webhook)))
  const outcome: DeliveryOutcome = { delivered: [], retry: null, failed: null }
  results.forEach((result, i) => {
    if (result === null) return void outcome.delivered.push(events[i])
    const key = result.retry ? 'retry' : 'failed'
    const group = (outcome[key] ??= { events: [], errors: 0, message: result.message })
    group.events.push(events[i])
    group.errors++
  })
  return outcome
}

/** null on success, the classified error otherwise. */
async function callOne(
  instance: PluginInstance,
  method: Exclude<ExportMethod, 'exportEvents'>,
  event: ProcessedPluginEvent,
  webhookOptions: WebhookOptions | WebhookSender,
) {
  try {
    if (method !== 'composeWebhook') {
      // An event a plugin captured may capture one event from onEvent, not PLUGIN_CAPTURES_PER_EVENT:
      // its depth does not reach the exporters, and ten a generation grew without end.
      await instance.call(method, [event], event.properties?.$lib === PLUGIN_CAPTURE_LIB ? { ...RETRIED, capturedEvents: 1 } : RETRIED)
      return null
    }
    const webhook = await instance.call('composeWebhook', [event], RETRIED)
    if (webhook === null || webhook === undefined) return null
    if (!isWebhook(webhook)) throw new WebhookError('composeWebhook returned something other than {url, body, headers, method} or null', false)
    if (typeof webhookOptions === 'function') await webhookOptions(webhook)
    else await sendWebhook(webhook, webhookOptions)
    return null
  } catch (err) {
    return classifyError(err)
  }
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i])
    }
  })
  await Promise.all(lanes)
  return out
}
