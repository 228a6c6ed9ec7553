import { TimestampInput, TimestampResult } from './interfaces'
import { isStorableTime, parseDate } from '@plugin-server/core'

/** PostHog lets a little future through (time zones, sloppy clocks) but not more than this. */
export const FUTURE_EVENT_CUTOFF_MS = 23 * 3600 * 1000

/**
 * Compute an event's timestamp in server time, following PostHog's `parseEventTimestamp`
 * (plugin-server) / `parse_event_timestamp` (capture):
 * 1. start from `now`;
 * 2. if `timestamp` parses: with a valid `sent_at` (and no `$ignore_sent_at`), correct the
 *    client's clock skew, `now + (timestamp - sent_at)`; without one, take `timestamp` as is;
 * 3. if a numeric `offset` (ms before sending, posthog-js) is given it wins: `now - offset`;
 * 4. a result more than 23h in the future, or outside years 1..9999 (what Postgres stores), becomes `now`.
 * Unparseable `timestamp`/`sent_at`/`offset` are ignored with a warning, never rejected, as in
 * PostHog (`ignored_invalid_timestamp`).
 */
export function parseEventTimestamp(input: TimestampInput): TimestampResult {
  const { now } = input
  const warnings: string[] = []

  let sentAt: Date | null = null
  if (!input.ignoreSentAt && isPresent(input.sentAt)) {
    sentAt = parseSentAt(input.sentAt)
    if (sentAt === null) warnings.push(`ignored_invalid_timestamp: sent_at ${describe(input.sentAt)} is not a valid date`)
  }

  let result = now
  if (isPresent(input.timestamp)) {
    const timestamp = parseDate(input.timestamp)
    if (timestamp === null) {
      warnings.push(`ignored_invalid_timestamp: timestamp ${describe(input.timestamp)} is not a valid date, using now`)
    } else if (sentAt !== null) {
      result = new Date(now.getTime() + (timestamp.getTime() - sentAt.getTime()))
    } else {
      result = timestamp
    }
  }

  if (isPresent(input.offset)) {
    if (typeof input.offset === 'number' && Number.isFinite(input.offset)) {
      result = new Date(now.getTime() - input.offset)
    } else {
      warnings.push(`ignored_invalid_timestamp: offset ${describe(input.offset)} is not a number of milliseconds`)
    }
  }

  if (result.getTime() - now.getTime() > FUTURE_EVENT_CUTOFF_MS) {
    warnings.push(`event_timestamp_in_future: ${result.toISOString()} is more than 23h ahead of now, using now`)
    result = now
  }
  if (!isStorableTime(result.getTime())) {
    warnings.push(`ignored_invalid_timestamp: computed timestamp is out of bounds (year ${result.getUTCFullYear()}), using now`)
    result = now
  }

  return { timestamp: result, warnings }
}

/** A batch's events share its `sent_at`: parsed once per batch, not once per event. */
let lastSentAt: unknown = undefined
let lastSentAtDate: Date | null = null
let lastSentAtText: string | null = null

function parseSentAt(value: unknown): Date | null {
  if (typeof value !== 'string' || value !== lastSentAt) {
    lastSentAtDate = parseDate(value)
    lastSentAtText = lastSentAtDate === null || !isStorableTime(lastSentAtDate.getTime()) ? null : lastSentAtDate.toISOString()
    lastSentAt = value
  }
  return lastSentAtDate
}

/**
 * The `sent_at` an event carries on: the time it names in ISO form, as PostHog's capture passes it
 * on, or null. Never the client's text: a batch's `sent_at` is copied into each of its events, and
 * 900 KB of it (or of spaces after a date) turned a 935 KB body of 1 000 events into 900 MB of queued
 * events (a 4 KB gzip body did the same), each under the per-event limit.
 */
export function sentAtText(value: unknown): string | null {
  if (value === undefined || value === null || value === '') return null
  parseSentAt(value)
  return lastSentAtText
}

function isPresent(value: unknown): boolean {
  return value !== undefined && value !== null && value !== ''
}

/** Only a string or a number is quoted back: anything else could be any size or depth (a 10 000-deep sent_at). */
function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}...` : value)
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return Array.isArray(value) ? 'an array' : `a${typeof value === 'object' ? 'n object' : ` ${typeof value}`}`
}
