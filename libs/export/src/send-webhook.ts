import { WebhookError } from './classify-error'

export interface Webhook {
  url: string
  body?: unknown
  headers?: Record<string, string>
  method?: string
}

export function isWebhook(value: unknown): value is Webhook {
  return typeof value === 'object' && value !== null && typeof (value as { url?: unknown }).url === 'string'
}

/** Sends what composeWebhook returned; resolves on 2xx, otherwise throws a WebhookError saying whether to retry. */
export async function sendWebhook(webhook: Webhook, timeoutMs: number): Promise<void> {
  const body = webhook.body === undefined || webhook.body === null ? undefined : typeof webhook.body === 'string' ? webhook.body : JSON.stringify(webhook.body)
  let response: Response
  try {
    response = await fetch(webhook.url, {
      method: (webhook.method ?? 'POST').toUpperCase(),
      headers: webhook.headers,
      body,
      signal: AbortSignal.timeout(timeoutMs),
    })
  } catch (err) {
    throw new WebhookError(`webhook to ${new URL(webhook.url).host} failed: ${(err as Error).message}`, true)
  }
  // The body is not needed; reading it frees the connection.
  await response.arrayBuffer().catch(() => undefined)
  if (response.ok) return
  const retry = response.status === 429 || response.status >= 500
  throw new WebhookError(`webhook to ${new URL(webhook.url).host} answered ${response.status} ${response.statusText}`, retry)
}
