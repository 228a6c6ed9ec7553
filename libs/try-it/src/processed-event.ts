import type { IngestEvent } from '@plugin-server/core'
import type { PluginEvent } from '@plugin-server/plugin-vm'
import { ProcessedPluginEvent, toProcessedEvent } from '@plugin-server/plugin-runtime'

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The sample event as capture would hand it to the ingest worker. */
export function toIngestEvent(event: PluginEvent): IngestEvent {
  return {
    uuid: String(event.uuid),
    team_id: Number(event.team_id),
    event: event.event,
    distinct_id: String(event.distinct_id),
    properties: isObject(event.properties) ? event.properties : {},
    timestamp: String(event.timestamp),
    now: String(event.now),
    sent_at: typeof event.sent_at === 'string' ? event.sent_at : null,
    ip: typeof event.ip === 'string' ? event.ip : null,
    site_url: typeof event.site_url === 'string' ? event.site_url : '',
  }
}

/** The stored event as the exporters hand it to onEvent, exportEvents and composeWebhook. */
export function processedEvent(event: PluginEvent): ProcessedPluginEvent {
  return toProcessedEvent({
    uuid: String(event.uuid ?? ''),
    team_id: Number(event.team_id),
    event: event.event,
    distinct_id: String(event.distinct_id ?? ''),
    properties: isObject(event.properties) ? event.properties : {},
    ip: typeof event.ip === 'string' ? event.ip : null,
    timestamp: String(event.timestamp ?? ''),
  })
}
