import type { IngestEvent } from '@plugin-server/core'
import { Element, extractElements } from './event-elements'

/** The scaffold's ProcessedPluginEvent: what onEvent, onSnapshot, exportEvents and composeWebhook receive. */
export interface ProcessedPluginEvent {
  distinct_id: string
  ip: string | null
  team_id: number
  event: string
  properties: Record<string, unknown>
  timestamp: string
  uuid: string
  $set?: Record<string, unknown>
  $set_once?: Record<string, unknown>
  /** Always a list (empty without `$elements`), as PostHog's ProcessedPluginEvent. */
  elements: Element[]
}

/**
 * A stored event (ingest hand-off, a row read back from Postgres, or a dry run's chain output) as
 * the scaffold's ProcessedPluginEvent; the exporters and "try it" share it so both show plugins the same thing.
 */
export function toProcessedEvent(
  event: Pick<IngestEvent, 'uuid' | 'team_id' | 'event' | 'distinct_id' | 'properties' | 'ip'> & { timestamp: string | Date },
): ProcessedPluginEvent {
  // `$elements` becomes `elements` and leaves the properties, as in PostHog (the stored row keeps it).
  const { $elements, ...properties } = event.properties ?? {}
  const out: ProcessedPluginEvent = {
    distinct_id: event.distinct_id,
    ip: event.ip,
    team_id: event.team_id,
    event: event.event,
    properties,
    timestamp: typeof event.timestamp === 'string' ? event.timestamp : event.timestamp.toISOString(),
    uuid: event.uuid,
    // Always a list, as PostHog sent it: an exporter writing `JSON.stringify(elements)` to a column got undefined.
    elements: Array.isArray($elements) ? extractElements($elements) : [],
  }
  if (isObject(properties.$set)) out.$set = properties.$set
  if (isObject(properties.$set_once)) out.$set_once = properties.$set_once
  return out
}

/** PostHog's `exportEventsToIgnore` config field (comma-separated event names, or a list). */
export function exportEventsToIgnore(config: Readonly<Record<string, unknown>>): Set<string> {
  const ignore = config.exportEventsToIgnore
  const names = Array.isArray(ignore) ? ignore.map(String) : typeof ignore === 'string' ? ignore.split(',') : []
  return new Set(names.map((n) => n.trim()).filter((n) => n !== ''))
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
