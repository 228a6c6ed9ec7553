import type { PluginEvent } from '@plugin-server/plugin-vm'
import { ProcessedPluginEvent, toProcessedEvent } from '@plugin-server/meta'

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * The chain's result as ingestion stores it: the uuid and team stay the server's whatever a plugin
 * returned, and the event says which plugins succeeded, failed or will see it after it is stored.
 */
export function chainOutput(input: PluginEvent, last: PluginEvent, labels: { succeeded: string[]; failed: string[]; deferred: string[] }): PluginEvent {
  const properties = isObject(last.properties) ? { ...last.properties } : {}
  const touched = labels.succeeded.length + labels.failed.length + labels.deferred.length > 0
  return {
    ...last,
    uuid: input.uuid,
    team_id: input.team_id,
    distinct_id: last.distinct_id === undefined || last.distinct_id === null ? input.distinct_id : String(last.distinct_id),
    properties: touched
      ? { ...properties, $plugins_succeeded: labels.succeeded, $plugins_failed: labels.failed, $plugins_deferred: labels.deferred }
      : properties,
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
