import { MAX_EVENT_DEPTH, withoutTrailingSlashes } from '@plugin-server/core'
import { decodeBody } from './decode-body'
import { extractEvents } from './extract-events'
import { CaptureError } from './capture-error'
import { CaptureLimits, CaptureRequest, ExtractedEvents, IncomingEvent, JsonObject, ParsedCapture } from './interfaces'
import { normalizeEvent } from './normalize-event'
import { exactDistinctIds, hasInexactDistinctId } from './resolve-distinct-id'
import { resolveToken } from './resolve-token'

/** A request decoded and its token found, its events not yet normalised. */
export interface ReadCapture {
  token: string
  extracted: ExtractedEvents
  /** The body's JSON text, parsed again only for ids over 2^53 (see normalizeCapture). */
  text: string
}

/**
 * Parse a PostHog capture request (`/batch`, `/capture`, `/e`, `/i/v0/e`) into normalised
 * events for one project token. Pure apart from uuid generation: throws CaptureError (with an
 * HTTP status) on bad input, never touches the network or the database — whether the token
 * belongs to a team is for the caller to decide (401 there too).
 */
export function parseCaptureRequest(req: CaptureRequest, limits: CaptureLimits): ParsedCapture {
  return normalizeCapture(readCaptureRequest(req, limits), req)
}

/**
 * The first half of parseCaptureRequest: the body decoded, its events found and the token they are
 * for. The server asks whether the token is a team's before the second half, which copies every
 * event: a body of someone else's (or no one's) token costs no more than its parse.
 */
export function readCaptureRequest(req: CaptureRequest, limits: CaptureLimits): ReadCapture {
  const { payload, text } = decodeBody(req, limits)
  const extracted = extractEvents(payload)
  return { token: resolveToken(extracted, req.query), extracted, text }
}

/** The second half: each event normalised (uuid, timestamp, ip, site_url), with the warnings that named it. */
export function normalizeCapture(read: ReadCapture, req: Pick<CaptureRequest, 'now' | 'ip' | 'headers' | 'path'>): ParsedCapture {
  const { token } = read
  // Rare (ids over 2^53 sent as numbers), and a reviver makes JSON.parse about ten times slower: only
  // then, and only here, once the token is known to be a team's.
  const extracted = read.extracted.events.some(hasInexactDistinctId) ? readExactIds(read.text) : read.extracted
  // posthog-js' people requests (/engage) carry `$set` and no event name; PostHog's capture stores them as `$identify`.
  const defaultEvent = withoutTrailingSlashes(req.path) === '/engage' ? '$identify' : undefined
  const ctx = { now: req.now, batchSentAt: extracted.sentAt, ip: req.ip, headers: req.headers, defaultEvent }
  const events: IncomingEvent[] = []
  const warnings: string[] = []
  const indexOfUuid = new Map<string, number>()
  extracted.events.forEach((raw, index) => {
    const normalized = normalizeEvent(raw, index, ctx)
    const first = indexOfUuid.get(normalized.event.uuid)
    if (first !== undefined) refuseDifferentCopies(extracted.events, first, index, normalized.event.uuid)
    else indexOfUuid.set(normalized.event.uuid, index)
    events.push(normalized.event)
    warnings.push(...normalized.warnings)
  })
  return { token, events, warnings, historicalMigration: extracted.historicalMigration }
}

/**
 * The body parsed again with ids over 2^53 kept exact. A reviver makes JSON.parse recurse, so a body
 * nested some 3 000 levels deep (in an event or beside them) exhausts the stack before any event's
 * depth is checked: that RangeError was answered 503, which clients retry with the same body forever.
 */
function readExactIds(text: string): ExtractedEvents {
  try {
    return extractEvents(JSON.parse(text, exactDistinctIds))
  } catch (err) {
    if (!(err instanceof RangeError)) throw err
    throw new CaptureError(400, 'too_deep', `the body is nested too deeply to be read (events may nest ${MAX_EVENT_DEPTH} levels)`)
  }
}

/**
 * The uuid is an event's identity: the insert keeps the first event of a uuid and skips the rest, so
 * two different events sharing one would be acknowledged and one of them silently lost. A copy of the
 * same event is harmless (stored once).
 */
function refuseDifferentCopies(raws: JsonObject[], first: number, index: number, uuid: string): void {
  if (JSON.stringify(raws[first]) === JSON.stringify(raws[index])) return
  throw new CaptureError(400, 'duplicate_uuid', `events at index ${first} and ${index} are different events with the same uuid ${uuid}`, 'uuid')
}
