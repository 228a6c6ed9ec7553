import { CaptureError } from './capture-error'
import { JsonObject } from './interfaces'

/** PostHog's capture truncates longer ids rather than rejecting the event. */
const MAX_DISTINCT_ID_LENGTH = 200

/**
 * The event's distinct_id, from the first non-null of: `distinct_id`, `$distinct_id` (both top
 * level), `properties.distinct_id`, `properties.$distinct_id` (posthog-js). Non-strings are
 * stringified like PostHog does (`23` → "23", objects → JSON), NULs become U+FFFD because
 * Postgres text cannot hold them, and the result is cut to 200 characters. Empty → 400. An integer
 * above 2^53 keeps the digits sent (normalizeCapture parses such a body again with exactDistinctIds, once its token is known to be a team's).
 */
export function resolveDistinctId(event: JsonObject, properties: JsonObject, index: number): string {
  const raw = [event.distinct_id, event.$distinct_id, properties.distinct_id, properties.$distinct_id].find((v) => v !== undefined && v !== null)
  const text = raw === undefined ? '' : typeof raw === 'string' ? raw : JSON.stringify(raw)
  // Cut before splitting into code points (two UTF-16 units at most each): a 20 MB id was an array of 20 million.
  const id = Array.from(text.slice(0, MAX_DISTINCT_ID_LENGTH * 2).replace(/\0/g, '\uFFFD'))
    .slice(0, MAX_DISTINCT_ID_LENGTH)
    .join('')
  if (id.trim() === '') {
    throw new CaptureError(400, 'missing_distinct_id', `event at index ${index} has no distinct_id`, 'distinct_id')
  }
  return id
}

/**
 * Whether an event's numeric distinct_id lost digits in JSON.parse (above 2^53, e.g. a 64-bit user id
 * sent as a number): told apart by the number alone, so the common path pays a typeof per id.
 */
export function hasInexactDistinctId(event: JsonObject): boolean {
  const properties = event.properties as JsonObject | undefined
  return [event.distinct_id, event.$distinct_id, properties?.distinct_id, properties?.$distinct_id].some(
    (id) => typeof id === 'number' && Number.isInteger(id) && !Number.isSafeInteger(id),
  )
}

/** A JSON.parse reviver that keeps such ids as the digits that were sent (Node 24 gives revivers the source text). */
export function exactDistinctIds(key: string, value: unknown, context?: { source?: string }): unknown {
  if ((key === 'distinct_id' || key === '$distinct_id') && typeof value === 'number' && !Number.isSafeInteger(value)) {
    const source = context?.source
    if (source !== undefined && /^-?\d+$/.test(source)) return source
  }
  return value
}
