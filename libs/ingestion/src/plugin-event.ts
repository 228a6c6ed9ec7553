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

/**
 * Back from a plugin's output. The uuid and team stay the server's: a plugin cannot move an event
 * to another team or make it collide with another event. Top-level $set/$set_once join properties,
 * as they do at capture.
 */
export function fromPluginEvent(original: IngestEvent, output: PluginEvent): IngestEvent {
  // The output was parsed from the sandbox's JSON: a fresh object nobody else holds, so no copies.
  const properties = isObject(output.properties) ? output.properties : {}
  for (const key of ['$set', '$set_once'] as const) {
    if (isObject(output[key])) properties[key] = isObject(properties[key]) ? { ...properties[key], ...output[key] } : output[key]
  }
  return {
    ...original,
    event: output.event,
    distinct_id: output.distinct_id === undefined || output.distinct_id === null ? original.distinct_id : String(output.distinct_id),
    properties,
    timestamp: output.timestamp === original.timestamp ? original.timestamp : normalizeTimestamp(output.timestamp, original.timestamp),
    ip: typeof output.ip === 'string' || output.ip === null ? (output.ip as string | null) : original.ip,
    site_url: typeof output.site_url === 'string' ? output.site_url : original.site_url,
  }
}

function normalizeTimestamp(value: unknown, fallback: string): string {
  const parsed = typeof value === 'string' ? Date.parse(value) : Number.NaN
  return Number.isNaN(parsed) ? fallback : new Date(parsed).toISOString()
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
