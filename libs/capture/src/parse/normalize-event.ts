import { MAX_EVENT_DEPTH } from '@plugin-server/core'
import { CaptureError } from './capture-error'
import { IncomingEvent, JsonObject, NormalizeContext } from './interfaces'
import { isJsonObject } from './is-json-object'
import { parseEventTimestamp, sentAtText } from './parse-timestamp'
import { resolveDistinctId } from './resolve-distinct-id'
import { resolveUuid } from './resolve-uuid'
import { siteUrl } from './site-url'

/** A request's events share its `now`: its text is made once per request, not once per event. */
let lastNow: Date | null = null
let lastNowText = ''

function nowText(now: Date): string {
  if (now !== lastNow) {
    lastNow = now
    lastNowText = now.toISOString()
  }
  return lastNowText
}

function tooDeep(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 1]]
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!
    if (typeof current !== 'object' || current === null) continue
    if (depth > limit) return true
    for (const child of Object.values(current)) if (typeof child === 'object' && child !== null) stack.push([child, depth + 1])
  }
  return false
}

/**
 * Validate one raw event and bring it into the `IncomingEvent` shape. Fatal problems throw a
 * CaptureError naming the event's index; recoverable ones (bad timestamps) become warnings
 * prefixed with the index.
 */
export function normalizeEvent(raw: JsonObject, index: number, ctx: NormalizeContext): { event: IncomingEvent; warnings: string[] } {
  const name = raw.event ?? ctx.defaultEvent
  if (name === undefined || name === null || name === '') {
    throw new CaptureError(400, 'missing_event_name', `event at index ${index} has no "event" name`, 'event')
  }
  if (typeof name !== 'string') {
    throw new CaptureError(400, 'invalid_event', `event at index ${index} has a non-string "event" name`, 'event')
  }

  if (tooDeep(raw, MAX_EVENT_DEPTH)) {
    throw new CaptureError(400, 'too_deep', `event at index ${index} is nested deeper than ${MAX_EVENT_DEPTH} levels`)
  }

  let properties: JsonObject = {}
  if (isJsonObject(raw.properties)) properties = { ...raw.properties }
  else if (raw.properties !== undefined && raw.properties !== null) {
    throw new CaptureError(400, 'invalid_event', `event at index ${index}: "properties" must be a JSON object`, 'properties')
  }

  const distinctId = resolveDistinctId(raw, properties, index)
  const uuid = resolveUuid(raw.uuid, index)

  const sentAt = raw.sent_at ?? ctx.batchSentAt
  const ts = parseEventTimestamp({
    timestamp: raw.timestamp,
    sentAt,
    offset: raw.offset,
    ignoreSentAt: Boolean(properties.$ignore_sent_at),
    now: ctx.now,
  })

  const event: IncomingEvent = {
    uuid,
    event: name,
    distinct_id: distinctId,
    properties,
    timestamp: ts.timestamp.toISOString(),
    now: nowText(ctx.now),
    sent_at: sentAtText(sentAt),
    ip: ctx.ip,
    site_url: siteUrl(ctx.headers, properties),
  }
  if (isJsonObject(raw.$set)) event.set = raw.$set
  if (isJsonObject(raw.$set_once)) event.set_once = raw.$set_once

  return { event, warnings: ts.warnings.map((w) => `event at index ${index}: ${w}`) }
}
