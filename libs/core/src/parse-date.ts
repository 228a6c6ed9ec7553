/**
 * Parse a client timestamp the way PostHog's capture does (RFC 3339 first, then common
 * variants), always reading zone-less values as UTC — JS `Date` would read them in the server's
 * local zone, which would make the stored time depend on the TZ of the pod that parsed it. Capture
 * reads clients' timestamps with it; ingestion a timestamp a plugin set, and `posthog.capture`'s.
 * Returns null when unparseable.
 */
export function parseDate(value: unknown): Date | null {
  if (typeof value === 'number') return Number.isFinite(value) ? fromEpoch(value) : null
  if (typeof value !== 'string') return null
  const s = value.trim()
  if (s === '' || s.length > MAX_DATE_TEXT) return null

  if (/^\d+(\.\d+)?$/.test(s)) return fromEpoch(Number(s))

  const iso = ISO_RE.exec(s)
  if (iso) {
    const [, date, time, zone] = iso
    if (time === undefined) return valid(new Date(`${date}T00:00:00Z`))
    // Milliseconds are all JS keeps; more than 9 digits used to fall through to the free-form parse, in local time.
    return valid(new Date(`${date}T${time.replace(/(\.\d{3})\d+$/, '$1')}${normaliseZone(zone)}`))
  }

  // RFC 2822, `Date.toString()` and other free-form dates: trust an explicit zone, otherwise pin to UTC.
  const parsed = valid(new Date(s))
  if (parsed === null || HAS_ZONE_RE.test(s.replace(TRAILING_COMMENT_RE, ''))) return parsed
  return valid(new Date(`${s} UTC`)) ?? wallClockAsUtc(parsed)
}

/**
 * Longer is no date (`Date.toString()` with the longest zone name is under 100), and the patterns
 * below take time in the square of what they scan: 100 000 spaces inside a date JS reads took 3 s
 * of the event loop, a client's `timestamp` or `sent_at`, before any size check.
 */
const MAX_DATE_TEXT = 256
/** `YYYY-MM-DD` (or `±YYYYYY-MM-DD`), optionally `[T ]HH:MM[:SS[.fraction]]`, optionally `Z`/`±HH`/`±HHMM`/`±HH:MM`. */
const ISO_RE = /^([+-]\d{6}-\d{2}-\d{2}|\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|z|[+-]\d{2}(?::?\d{2})?)?)?$/
/** A zone JS's free-form parser honours, last in the string: an offset, or a name it knows (`PDT`, `GMT`). */
const HAS_ZONE_RE = /(?:\b(?:Z|UTC?|GMT|[ECMP][SD]T)|[+-]\d{2}:?\d{2})\s*$/i
/** `Date.toString()` ends with the zone's name in parentheses, which JS ignores: `… GMT+0200 (CEST)`. */
const TRAILING_COMMENT_RE = /\s*\([^()]*\)\s*$/

function normaliseZone(zone: string | undefined): string {
  if (zone === undefined) return 'Z'
  if (zone === 'z') return 'Z'
  // PostHog normalises `+03` to `+03:00` (some SDKs emit it); JS rejects the short form.
  if (/^[+-]\d{2}$/.test(zone)) return `${zone}:00`
  if (/^[+-]\d{4}$/.test(zone)) return `${zone.slice(0, 3)}:${zone.slice(3)}`
  return zone
}

/**
 * A zone-less string JS read in local time and that no `UTC` suffix makes readable: the wall clock it
 * names, read as UTC (off only for a wall time the host's zone skips, a DST gap).
 */
function wallClockAsUtc(local: Date): Date | null {
  const utc = new Date(0)
  utc.setUTCFullYear(local.getFullYear(), local.getMonth(), local.getDate())
  utc.setUTCHours(local.getHours(), local.getMinutes(), local.getSeconds(), local.getMilliseconds())
  return valid(utc)
}

/** Seconds or milliseconds since the epoch: up to 11 integer digits are seconds (valid to year 5138). */
function fromEpoch(n: number): Date | null {
  const ms = Math.abs(n) < 1e11 ? n * 1000 : n
  return valid(new Date(ms))
}

function valid(d: Date): Date | null {
  return Number.isNaN(d.getTime()) ? null : d
}
