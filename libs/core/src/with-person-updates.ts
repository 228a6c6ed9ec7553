/**
 * An event's properties with its top-level `$set`/`$set_once` joined into `properties.$set` /
 * `properties.$set_once`, in place (the caller owns `properties`: a copy it made or JSON it parsed).
 * PostHog keeps them with the event; here they travel as properties, from capture (a client's event)
 * and from the ingest worker (what a plugin returned) alike. The top-level keys win; a
 * `properties.$set` that is not an object is replaced, not spread (a string spread into an object
 * would become index keys: `{ 0: 'a', 1: 'b' }`).
 */
export function withPersonUpdates(
  properties: Record<string, unknown>,
  set?: Record<string, unknown>,
  setOnce?: Record<string, unknown>,
): Record<string, unknown> {
  if (set) properties.$set = joined(properties.$set, set)
  if (setOnce) properties.$set_once = joined(properties.$set_once, setOnce)
  return properties
}

function joined(own: unknown, top: Record<string, unknown>): Record<string, unknown> {
  return typeof own === 'object' && own !== null && !Array.isArray(own) ? { ...own, ...top } : top
}
