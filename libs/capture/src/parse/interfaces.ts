export type JsonObject = { [key: string]: unknown }

/** What the HTTP layer hands to the parser: the raw request, already read into memory. */
export interface CaptureRequest {
  method: string
  /** Path without the query string, e.g. `/batch/`. */
  path: string
  query: URLSearchParams
  /** The query string as sent, without its `?`: `data=`'s bytes are read from it (form-field.ts). */
  rawQuery: string
  /** Node-style headers (lower-case names). */
  headers: Record<string, string | string[] | undefined>
  body: Buffer
  /** Client IP as decided by the server (X-Forwarded-For trust is its call), or null. */
  ip: string | null
  /** Server receive time; the reference for clock-skew correction. */
  now: Date
}

export interface CaptureLimits {
  /** Limit on the request body, enforced on the raw bytes and again after every decoding step. */
  maxBodyBytes: number
  /**
   * Called with what the decoded text will hold once parsed (its length, and its objects and arrays
   * at their size in the heap: decode-body `parsedSize`) just before it is parsed as JSON; throwing
   * refuses the request there (the server's budget of bytes in flight), before the text becomes objects.
   */
  beforeParse?: (parsedSize: number) => void
}

/** One event, normalised so that downstream code never has to look at the wire format again. */
export interface IncomingEvent {
  /** Client-provided (validated, lower-cased) or assigned v4 uuid. */
  uuid: string
  event: string
  distinct_id: string
  properties: JsonObject
  /** ISO 8601 UTC, after clock-skew correction. */
  timestamp: string
  /** Server receive time, ISO 8601 UTC. */
  now: string
  /** The client's send time as given (event-level, else batch-level), or null. */
  sent_at: string | null
  ip: string | null
  site_url: string
  /** Top-level `$set` of the event, if any (properties.$set is left inside properties). */
  set?: JsonObject
  /** Top-level `$set_once` of the event, if any. */
  set_once?: JsonObject
}

export interface ParsedCapture {
  token: string
  events: IncomingEvent[]
  /** Non-fatal problems (e.g. an unparseable timestamp replaced by `now`), each naming its event. */
  warnings: string[]
  /** posthog-node's `historical_migration: true` batch flag. */
  historicalMigration: boolean
}

/** Output of body decoding: the parsed JSON plus how it was encoded (for logs/metrics). */
export interface DecodedBody {
  payload: unknown
  /** The JSON text the payload was parsed from. */
  text: string
  compression: 'none' | 'gzip' | 'base64'
}

/** Output of shape extraction: the raw event objects and the request-level fields around them. */
export interface ExtractedEvents {
  events: JsonObject[]
  /**
   * `api_key`/`token` next to a `batch`/`data` wrapper, unvalidated (undefined when absent). A
   * single-event body's own `api_key`/`token` is a per-event token, not this.
   */
  requestToken: unknown
  /** The wrapper's `sent_at`, unvalidated; an event's own `sent_at` overrides it. */
  sentAt: unknown
  historicalMigration: boolean
}

export interface TimestampInput {
  timestamp: unknown
  sentAt: unknown
  offset: unknown
  ignoreSentAt: boolean
  now: Date
}

export interface TimestampResult {
  timestamp: Date
  warnings: string[]
}

/** Request-wide facts every event of the request shares. */
export interface NormalizeContext {
  now: Date
  /** The wrapper's `sent_at`, used when the event has none of its own. */
  batchSentAt: unknown
  ip: string | null
  headers: CaptureRequest['headers']
  /** The name of an event that has none: `$identify` on /engage (posthog-js' people requests), else none. */
  defaultEvent?: string
}
