import type { PluginEvent } from '@plugin-server/plugin-vm'

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

/** The scaffold's ProcessedPluginEvent, what onEvent, exportEvents and composeWebhook receive on the exporters. */
export function processedEvent(event: PluginEvent): Record<string, unknown> {
  const properties = isObject(event.properties) ? event.properties : {}
  const out: Record<string, unknown> = {
    distinct_id: event.distinct_id,
    ip: typeof event.ip === 'string' ? event.ip : null,
    team_id: event.team_id,
    event: event.event,
    properties,
    timestamp: event.timestamp,
    uuid: event.uuid,
  }
  if (isObject(properties.$set)) out.$set = properties.$set
  if (isObject(properties.$set_once)) out.$set_once = properties.$set_once
  if (Array.isArray(properties.$elements)) out.elements = properties.$elements.filter(isObject)
  return out
}

/** `exportEventsToIgnore`, the PostHog config field exporters honour before buffering. */
export function exportIgnores(config: Readonly<Record<string, unknown>>, eventName: string): boolean {
  const ignore = config.exportEventsToIgnore
  const names = Array.isArray(ignore) ? ignore.map(String) : typeof ignore === 'string' ? ignore.split(',') : []
  return names.some((name) => name.trim() === eventName)
}
