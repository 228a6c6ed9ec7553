import { IngestEvent, isStorableTime, parseDate, withPersonUpdates } from '@plugin-server/core'
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

/** The form capture accepts from clients (libs/capture resolve-uuid.ts): any version, any case. */
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * Back from a plugin's output (parsed from the sandbox's JSON). The team stays the server's: a
 * plugin cannot move an event to another team. A uuid it set replaces the event's, as in PostHog
 * (the Unduplicates app derives one from the event so that a client's retries collapse into one
 * row): it can only collide with its own team's events, which the insert dedupes. A uuid that is
 * not a UUID keeps the original's and is handed to `refusedUuid`, for the plugin's logs.
 * Top-level $set/$set_once join properties, as they do at capture. Every field the events table
 * needs comes out with its type (a field the plugin broke keeps the original's value, but properties
 * that are not an object become empty ones: the plugin replaced them); an output that is not an event
 * at all throws, naming what is wrong, and is that plugin's error.
 */
export function fromPluginEvent(original: IngestEvent, output: unknown, refusedUuid?: (given: unknown) => void): IngestEvent {
  if (!isObject(output)) throw new Error(`processEvent returned ${describe(output)}, expected an event object`)
  if (typeof output.event !== 'string' || output.event === '') {
    throw new Error(`processEvent returned an event whose "event" is ${describe(output.event)}, expected a non-empty string`)
  }
  // A fresh object parsed from JSON that nobody else holds, so joined in place, no copies.
  const properties = withPersonUpdates(
    isObject(output.properties) ? output.properties : {},
    isObject(output.$set) ? output.$set : undefined,
    isObject(output.$set_once) ? output.$set_once : undefined,
  )
  return {
    ...original,
    uuid: pluginUuid(output.uuid, original.uuid, refusedUuid),
    event: output.event,
    distinct_id: distinctId(output.distinct_id, original.distinct_id),
    properties,
    timestamp: output.timestamp === original.timestamp ? original.timestamp : normalizeTimestamp(output.timestamp, original.timestamp),
    // Anything but a non-empty string — removed (`delete event.ip`, as PostHog's Property Filter does), null, false — is no address: no `$ip` is stored.
    ip: typeof output.ip === 'string' && output.ip !== '' ? output.ip : null,
    site_url: typeof output.site_url === 'string' ? output.site_url : original.site_url,
  }
}

/** Unchanged (the hot path) or missing: the original's; a UUID: in Postgres' lower-case form. */
function pluginUuid(value: unknown, original: string, refused: ((given: unknown) => void) | undefined): string {
  if (value === original || value === undefined) return original
  if (typeof value === 'string' && UUID_RE.test(value)) return value.toLowerCase()
  refused?.(value)
  return original
}

/**
 * Plugins set numbers as ids (PostHog took them as strings); objects and arrays are not ids, nor is
 * an empty or blank string, which capture refuses from clients (`missing_distinct_id`).
 */
function distinctId(value: unknown, fallback: string): string {
  // trim gives the string itself back when there is nothing to trim: no copy on the hot path.
  if (typeof value === 'string') return value.trim() === '' ? fallback : value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return fallback
}

/** Read as capture reads a client's: a zone-less time is UTC, not the ingest worker's local time (`Date.parse`). */
function normalizeTimestamp(value: unknown, fallback: string): string {
  const parsed = typeof value === 'string' ? (parseDate(value)?.getTime() ?? Number.NaN) : Number.NaN
  return isStorableTime(parsed) ? new Date(parsed).toISOString() : fallback
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (value === undefined) return 'nothing'
  if (value === '') return 'an empty string'
  if (Array.isArray(value)) return 'an array'
  return `a ${typeof value}`
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
