/**
 * Parse a client timestamp the way PostHog's capture does (RFC 3339 first, then common
 * variants), always reading zone-less values as UTC — JS `Date` would read them in the server's
 * local zone, which would make ingestion depend on the host TZ. Returns null when unparseable.
 */
export function parseDate(value: unknown): Date | null {
  if (typeof value === 'number') return Number.isFinite(value) ? fromEpoch(value) : null
  if (typeof value !== 'string') return null
  const s = value.trim()
  if (s === '') return null

  if (/^\d+(\.\d+)?$/.test(s)) return fromEpoch(Number(s))

  const iso = ISO_RE.exec(s)
  if (iso) {
    const [, date, time, zone] = iso
    if (time === undefined) return valid(new Date(`${date}T00:00:00Z`))
    return valid(new Date(`${date}T${time}${normaliseZone(zone)}`))
  }

  // RFC 2822 and other free-form dates: trust an explicit zone, otherwise pin to UTC.
  const parsed = valid(new Date(s))
  if (parsed === null || HAS_ZONE_RE.test(s)) return parsed
  return valid(new Date(`${s} UTC`)) ?? parsed
}

/** `YYYY-MM-DD`, optionally `[T ]HH:MM[:SS[.fff]]`, optionally `Z`/`±HH`/`±HHMM`/`±HH:MM`. */
const ISO_RE = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|z|[+-]\d{2}(?::?\d{2})?)?)?$/
const HAS_ZONE_RE = /(?:Z|UTC|GMT|[+-]\d{2}:?\d{2})\s*$/i

function normaliseZone(zone: string | undefined): string {
  if (zone === undefined) return 'Z'
  if (zone === 'z') return 'Z'
  // PostHog normalises `+03` to `+03:00` (some SDKs emit it); JS rejects the short form.
  if (/^[+-]\d{2}$/.test(zone)) return `${zone}:00`
  if (/^[+-]\d{4}$/.test(zone)) return `${zone.slice(0, 3)}:${zone.slice(3)}`
  return zone
}

/** Seconds or milliseconds since the epoch: up to 11 integer digits are seconds (valid to year 5138). */
function fromEpoch(n: number): Date | null {
  const ms = Math.abs(n) < 1e11 ? n * 1000 : n
  return valid(new Date(ms))
}

function valid(d: Date): Date | null {
  return Number.isNaN(d.getTime()) ? null : d
}
