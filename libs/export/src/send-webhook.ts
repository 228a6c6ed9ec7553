import { FetchGuard, guardedFetch } from '@plugin-server/plugin-vm'
import { WebhookError } from './classify-error'

export interface Webhook {
  url: string
  body?: unknown
  headers?: Record<string, string>
  method?: string
}

export interface WebhookOptions {
  timeoutMs: number
  /** The plugins' fetch policy: a webhook is the plugin's request, made by the host on its behalf. */
  guard: FetchGuard
}

/** The answer is only read to free the connection; a destination streaming more than this is cut off. */
const MAX_RESPONSE_BYTES = 1024 * 1024

export function isWebhook(value: unknown): value is Webhook {
  return typeof value === 'object' && value !== null && typeof (value as { url?: unknown }).url === 'string'
}

/**
 * Sends what composeWebhook returned; resolves on 2xx, otherwise throws a WebhookError saying whether
 * to retry. The URL comes from a plugin, so it goes through the same address policy as the plugin's
 * own fetch: without it, composeWebhook would reach the metadata service or the fleet's Redis.
 */
export async function sendWebhook(webhook: Webhook, options: WebhookOptions): Promise<void> {
  const body = webhook.body === undefined || webhook.body === null ? undefined : typeof webhook.body === 'string' ? webhook.body : JSON.stringify(webhook.body)
  const host = hostOf(webhook.url)
  let status: number
  let statusText: string
  try {
    const response = await guardedFetch(
      webhook.url,
      { method: (webhook.method ?? 'POST').toUpperCase(), headers: webhook.headers, body },
      { guard: options.guard, signal: AbortSignal.timeout(options.timeoutMs), maxBytes: MAX_RESPONSE_BYTES },
    )
    ;({ status, statusText } = response)
  } catch (err) {
    const e = err as Error & { code?: string }
    // A refused address or scheme stays refused: retrying cannot help, and the message says why.
    if (e.code === 'ERR_PLUGIN_FETCH_REFUSED' || e instanceof TypeError) throw new WebhookError(`webhook to ${host} refused: ${e.message}`, false)
    throw new WebhookError(`webhook to ${host} failed: ${e.message}`, true)
  }
  if (status >= 200 && status < 300) return
  const retry = status === 429 || status >= 500
  throw new WebhookError(`webhook to ${host} answered ${status} ${statusText}`, retry)
}

function hostOf(url: string): string {
  try {
    return new URL(url).host
  } catch {
    return 'an invalid URL'
  }
}
