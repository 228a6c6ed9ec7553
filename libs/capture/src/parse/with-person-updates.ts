import { isJsonObject } from './is-json-object'

/**
 * An event's properties with its top-level `$set`/`$set_once` joined into `properties.$set` /
 * `properties.$set_once` (PostHog keeps them with the event; here they travel as properties). The
 * top-level keys win; a `properties.$set` that is not an object is replaced, not spread (a string
 * spread into an object would become index keys: `{ 0: 'a', 1: 'b' }`), as the ingest worker does
 * with a plugin's output (libs/ingestion plugin-event.ts).
 */
export function withPersonUpdates(
  properties: Record<string, unknown>,
  set?: Record<string, unknown>,
  setOnce?: Record<string, unknown>,
): Record<string, unknown> {
  if (!set && !setOnce) return properties
  const joined = (own: unknown, top: Record<string, unknown>) => (isJsonObject(own) ? { ...own, ...top } : top)
  return {
    ...properties,
    ...(set ? { $set: joined(properties.$set, set) } : {}),
    ...(setOnce ? { $set_once: joined(properties.$set_once, setOnce) } : {}),
  }
}
