import { CaptureError } from './capture-error'
import { ExtractedEvents, JsonObject } from './interfaces'
import { isJsonObject } from './is-json-object'

/**
 * Find the events in the decoded body. Accepted shapes (all seen from real clients):
 * - `[event, ...]`                                   posthog-js arrays
 * - `{batch: [event, ...], api_key, sent_at}`        posthog-node / /batch
 * - `{data: [event, ...] | event, api_key?}`         legacy wrappers
 * - `event`                                          single event (/capture, /e)
 */
export function extractEvents(payload: unknown): ExtractedEvents {
  let items: unknown[]
  let wrapper: JsonObject | null = null

  if (Array.isArray(payload)) {
    items = payload
  } else if (isJsonObject(payload)) {
    if ('batch' in payload) {
      if (!Array.isArray(payload.batch)) throw new CaptureError(400, 'invalid_payload', '"batch" must be an array of events', 'batch')
      items = payload.batch
      wrapper = payload
    } else if (payload.event === undefined && 'data' in payload) {
      // Only a body without its own event name is a wrapper; an event may have a `data` property.
      const data = payload.data
      if (Array.isArray(data)) items = data
      else if (isJsonObject(data)) items = [data]
      else throw new CaptureError(400, 'invalid_payload', '"data" must be an event or an array of events', 'data')
      wrapper = payload
    } else {
      items = [payload]
    }
  } else {
    throw new CaptureError(400, 'invalid_payload', 'request body must be a JSON object or array')
  }

  if (items.length === 0) throw new CaptureError(400, 'empty_batch', 'empty batch: the request contains no events')

  const events = items.map((item, index) => {
    if (!isJsonObject(item)) throw new CaptureError(400, 'invalid_event', `event at index ${index} is not a JSON object`)
    return item
  })

  return {
    events,
    requestToken: wrapper ? (wrapper.api_key ?? wrapper.token) : undefined,
    sentAt: wrapper?.sent_at,
    historicalMigration: wrapper?.historical_migration === true,
  }
}
