import { RetryError } from '@posthog/plugin-scaffold'
import type { PluginMeta, ProcessedPluginEvent } from '@posthog/plugin-scaffold'

type Meta = PluginMeta<{ config: { url: string; authToken?: string } }>

export async function exportEvents(events: ProcessedPluginEvent[], { config }: Meta) {
  const response = await fetch(config.url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(config.authToken ? { Authorization: `Bearer ${config.authToken}` } : {}) },
    body: JSON.stringify({ events }),
  })
  // The destination is having a bad moment: the exporter retries the batch with backoff.
  if (response.status >= 500) throw new RetryError(`endpoint answered ${response.status}`)
  if (!response.ok) throw new Error(`endpoint refused the batch: ${response.status} ${response.statusText}`)
}
