import { decodeBody } from './decode-body'
import { extractEvents } from './extract-events'
import { CaptureLimits, CaptureRequest, IncomingEvent, ParsedCapture } from './interfaces'
import { normalizeEvent } from './normalize-event'
import { resolveToken } from './resolve-token'

/**
 * Parse a PostHog capture request (`/batch`, `/capture`, `/e`, `/i/v0/e`) into normalised
 * events for one project token. Pure apart from uuid generation: throws CaptureError (with an
 * HTTP status) on bad input, never touches the network or the database — whether the token
 * belongs to a team is for the caller to decide (401 there too).
 */
export function parseCaptureRequest(req: CaptureRequest, limits: CaptureLimits): ParsedCapture {
  const { payload } = decodeBody(req, limits)
  const extracted = extractEvents(payload)
  const token = resolveToken(extracted, req.query)

  const ctx = { now: req.now, batchSentAt: extracted.sentAt, ip: req.ip, headers: req.headers }
  const events: IncomingEvent[] = []
  const warnings: string[] = []
  extracted.events.forEach((raw, index) => {
    const normalized = normalizeEvent(raw, index, ctx)
    events.push(normalized.event)
    warnings.push(...normalized.warnings)
  })

  return { token, events, warnings, historicalMigration: extracted.historicalMigration }
}
