/**
 * How deep an event may nest, the event object being level 1, whoever made it (a client, a plugin's
 * processEvent or posthog.capture). Deeper structures are not analytics data, and the recursive code
 * downstream must never meet them: the host's JSON.stringify gives up at about 4 400 levels and
 * Postgres' jsonb parser at its stack depth limit, and either failing fails the insert of the whole
 * batch, on every retry.
 */
export const MAX_EVENT_DEPTH = 64

const OPEN_OBJECT = 0x7b
const CLOSE_OBJECT = 0x7d
const OPEN_ARRAY = 0x5b
const CLOSE_ARRAY = 0x5d
const QUOTE = 0x22
const BACKSLASH = 0x5c

/**
 * Whether a JSON text nests objects and arrays deeper than `limit`. Nesting that deep takes more than
 * `limit` opening brackets, so most texts are decided by counting those with indexOf (≈ 0.1–0.3 µs for
 * a 1–2 KB event, against 2–5 µs to parse it); only a text with that many is read character by
 * character, brackets inside strings not counted.
 */
export function jsonNestedDeeperThan(text: string, limit: number): boolean {
  if (text.length <= 2 * limit) return false
  let openers = 0
  for (let i = text.indexOf('{'); i !== -1 && openers <= limit; i = text.indexOf('{', i + 1)) openers++
  for (let i = text.indexOf('['); i !== -1 && openers <= limit; i = text.indexOf('[', i + 1)) openers++
  if (openers <= limit) return false
  let depth = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) {
      for (i++; i < text.length; i++) {
        const s = text.charCodeAt(i)
        if (s === BACKSLASH) i++
        else if (s === QUOTE) break
      }
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (++depth > limit) return true
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) depth--
  }
  return false
}
