import type { IngestEvent } from '@plugin-server/core'
import type { ProcessedPluginEvent } from './interfaces'

/** A stored event (ingest hand-off or a row read back from Postgres) as the scaffold's ProcessedPluginEvent. */
export function toProcessedEvent(
  event: Pick<IngestEvent, 'uuid' | 'team_id' | 'event' | 'distinct_id' | 'properties' | 'ip'> & { timestamp: string | Date },
): ProcessedPluginEvent {
  const properties = event.properties ?? {}
  const out: ProcessedPluginEvent = {
    distinct_id: event.distinct_id,
    ip: event.ip,
    team_id: event.team_id,
    event: event.event,
    properties,
    timestamp: typeof event.timestamp === 'string' ? event.timestamp : event.timestamp.toISOString(),
    uuid: event.uuid,
  }
  if (isObject(properties.$set)) out.$set = properties.$set
  if (isObject(properties.$set_once)) out.$set_once = properties.$set_once
  if (Array.isArray(properties.$elements)) out.elements = properties.$elements.filter(isObject)
  return out
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
