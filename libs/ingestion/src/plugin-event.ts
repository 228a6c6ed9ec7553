import type { IngestEvent } from '@plugin-server/core'
import type { PluginEvent } from '@plugin-server/plugin-vm'

/** The PluginEvent shape PostHog plugins expect (the scaffold's PluginEvent). */
export function toPluginEvent(event: IngestEvent): PluginEvent {
  return {
    uuid: event.uuid,
    team_id: event.team_id,
    event: event.event,
    distinct_id: event.distinct_id,
    properties: event.properties,
    timestamp: event.timestamp,
    now: event.now,
    sent_at: event.sent_at ?? undefined,
    ip: event.ip,
    site_url: event.site_url,
  }
}

export function isPluginEvent(value: unknown): value is PluginEvent {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as { event?: unknown }).event === 'string' && (value as { event: string }).event !== ''
}

/**
 * Back from a plugin's output. The uuid and team stay the server's: a plugin cannot move an event
 * to another team or make it collide with another event. Top-level $set/$set_once join properties,
 * as they do at capture.
 */
export function fromPluginEvent(original: IngestEvent, output: PluginEvent): IngestEvent {
  const properties = isObject(output.properties) ? { ...output.properties } : {}
  for (const key of ['$set', '$set_once'] as const) {
    if (isObject(output[key])) properties[key] = { ...(isObject(properties[key]) ? properties[key] : {}), ...output[key] }
  }
  const timestamp = typeof output.timestamp === 'string' && !Number.isNaN(Date.parse(output.timestamp)) ? new Date(output.timestamp).toISOString() : original.timestamp
  return {
    ...original,
    event: output.event,
    distinct_id: output.distinct_id === undefined || output.distinct_id === null ? original.distinct_id : String(output.distinct_id),
    properties,
    timestamp,
    ip: typeof output.ip === 'string' || output.ip === null ? (output.ip as string | null) : original.ip,
    site_url: typeof output.site_url === 'string' ? output.site_url : original.site_url,
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
