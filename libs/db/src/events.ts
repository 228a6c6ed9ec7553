import { EARLIEST_STORABLE_TIME, IngestEvent, isStorableTime, LATEST_STORABLE_TIME, parseDate, toPostgresJson } from '@plugin-server/core'
import type { Pool } from 'pg'
import { analyzeNewEventsPartitions } from './events-partitions/analyze-new-events-partitions'
import { fewEventsPartitions } from './events-partitions/few-events-partitions'

export interface StoredEvent {
  uuid: string
  team_id: number
  event: string
  distinct_id: string
  properties: Record<string, unknown>
  timestamp: Date
  created_at: Date
  ip: string | null
  site_url: string
}

/**
 * How far apart two timestamps of one (team, uuid) may be and still be the same event delivered
 * twice. A redelivered batch carries the same timestamps; a client's retry is re-corrected for
 * clock skew by capture and so may differ by the retry's delay. One day also bounds each event's
 * dedupe check to the two or three daily partitions around it (run-time pruning). A day is added
 * in the session's time zone: 23 to 25 hours across a daylight-saving change (LOOKUP_REACH_MS).
 */
export const EVENT_DEDUPE_WINDOW = '1 day'

/**
 * How many time ranges a batch's uuid lookups are bounded by (see lookupRanges): enough for live
 * events plus a few clusters of older ones a client queued offline.
 */
const EVENT_LOOKUP_RANGES = 4

/**
 * The batch's time ranges as the lookups' bound ($2 and $3 the first range's ends, $4 and $5 the
 * second's…): a plan made for a batch's values prunes the partitions outside them at plan time and
 * locks only those within.
 */
const LOOKUP_RANGES_SQL = Array.from(
  { length: EVENT_LOOKUP_RANGES },
  (_, i) => `e.timestamp BETWEEN $${2 * i + 2}::timestamptz AND $${2 * i + 3}::timestamptz`,
).join(' OR ')

/** The statement insertEvents runs ($1: the rows as a JSON array, then lookupRanges' bounds); exported so tests can look at its plan. */
export const INSERT_EVENTS_SQL = `INSERT INTO events (uuid, team_id, event, distinct_id, properties, timestamp, ip, site_url)
  SELECT DISTINCT ON (r.team_id, r.uuid) r.uuid, r.team_id, r.event, r.distinct_id, r.properties, r.timestamp, r.ip, r.site_url
  FROM ROWS FROM (jsonb_to_recordset($1::jsonb) AS (uuid uuid, team_id int, event text, distinct_id text,
    properties jsonb, timestamp timestamptz, ip text, site_url text)) WITH ORDINALITY
    AS r(uuid, team_id, event, distinct_id, properties, timestamp, ip, site_url, n)
  -- LATERAL … LIMIT 1 keeps this a lookup per event (an anti join could scan every partition whole).
  LEFT JOIN LATERAL (
    SELECT true AS found FROM events e WHERE e.team_id = r.team_id AND e.uuid = r.uuid
      AND e.timestamp >= r.timestamp - interval '${EVENT_DEDUPE_WINDOW}' AND e.timestamp <= r.timestamp + interval '${EVENT_DEDUPE_WINDOW}'
      AND (${LOOKUP_RANGES_SQL})
    LIMIT 1) stored ON true
  WHERE stored.found IS NULL
  ORDER BY r.team_id, r.uuid, r.n
  ON CONFLICT DO NOTHING
  RETURNING team_id, uuid`

/**
 * The stored row of each given (team, uuid) the insert skipped ($1: `uuid`, `team_id`, `timestamp` of
 * each), the one nearest its timestamp within the dedupe window; `n`: its 1-based position in $1.
 */
const STORED_ROWS_SQL = `SELECT r.n::int AS n, e.event, e.distinct_id, e.properties, e.timestamp, e.ip, e.site_url
  FROM ROWS FROM (jsonb_to_recordset($1::jsonb) AS (uuid uuid, team_id int, timestamp timestamptz)) WITH ORDINALITY
    AS r(uuid, team_id, timestamp, n)
  JOIN LATERAL (
    SELECT e.event, e.distinct_id, e.properties, e.timestamp, e.ip, e.site_url FROM events e
    WHERE e.team_id = r.team_id AND e.uuid = r.uuid
      AND e.timestamp >= r.timestamp - interval '${EVENT_DEDUPE_WINDOW}' AND e.timestamp <= r.timestamp + interval '${EVENT_DEDUPE_WINDOW}'
      AND (${LOOKUP_RANGES_SQL})
    ORDER BY abs(extract(epoch FROM e.timestamp - r.timestamp)) LIMIT 1) e ON true`

/**
 * While the events table has few partitions (fewEventsPartitions), insertEvents' statement is
 * prepared under this name: parsed once per connection and, after five executions, Postgres may
 * reuse one generic plan for it, which prunes only at run time and so locks every partition and its
 * key — few here — and saves planning each batch: 24–25 against 30 µs of Postgres CPU per event
 * with 9 partitions (100-event batches, `npm run bench -- inserts`). With more, every batch is planned
 * (not named: Postgres chooses by cost, and was seen reusing the generic plan with 110), which
 * prunes to the batch's lookupRanges before locking: about a dozen relations per insert however
 * many days the table keeps, where the generic plan locked 812 with 409 partitions and cost 46
 * against 30–32 µs per event. Behind PgBouncer in transaction mode the named statement needs
 * PgBouncer >= 1.21 with max_prepared_statements set.
 */
export const INSERT_EVENTS_STATEMENT = 'plugin-server/insert-events'

/**
 * One statement per batch, idempotent on (team, uuid) so a redelivered batch (a killed worker's job
 * run again) stores nothing twice. The uuid is the client's and identifies an event within its team
 * only: another team sending the same uuid gets its own row. events is partitioned by timestamp, so
 * its unique key is (team, uuid, timestamp): an exact redelivery is refused by it (even by two
 * inserts at once), and an event whose team already stored its uuid within EVENT_DEDUPE_WINDOW of
 * its timestamp is skipped too, whichever partition holds it. A uuid repeated within the batch is
 * stored once (the first). NUL characters and lone UTF-16 surrogates, which Postgres cannot store,
 * are removed / replaced rather than failing the batch, and so is a timestamp Postgres cannot hold
 * (year 0, past 9999: the time of the insert instead). An event name is stored cut to its first 200
 * characters, as PostHog stores it. Returns how many rows were new. A day's
 * partition is analysed once its first rows land (analyzeNewEventsPartitions), so the uuid lookup
 * is an index probe of the key from the first batches on.
 */
export async function insertEvents(pool: Pool, events: readonly IngestEvent[]): Promise<number> {
  return (await insertRows(pool, events)).inserted.size
}

/** What storeEvents did with a batch. */
export interface StoredEvents {
  /** Rows that were new. */
  stored: number
  /**
   * The batch's events as the table holds them, each (team, uuid) once: a new one as inserted (its
   * timestamp as stored), one the insert skipped as its stored row — a batch delivered again after
   * its worker died before handing it on, or another event under a uuid its team already used.
   * What the exporters are given must be what Postgres holds, whatever a retry's plugins computed,
   * NULs and lone surrogates taken out as they were for the insert (an export into a Postgres of its
   * own would refuse them too, failing the export batch they are in).
   */
  asStored: IngestEvent[]
}

/** insertEvents, also giving back the batch's events as the table holds them (see StoredEvents). */
export async function storeEvents(pool: Pool, events: readonly IngestEvent[]): Promise<StoredEvents> {
  const { rows, inserted, cleaned } = await insertRows(pool, events)
  const asInserted = (i: number): IngestEvent => {
    const e = events[i]
    const row = rows[i]
    if (cleaned)
      return { ...e, event: row.event, distinct_id: row.distinct_id, properties: row.properties, timestamp: row.timestamp, ip: row.ip, site_url: row.site_url }
    return e.timestamp === row.timestamp ? e : { ...e, timestamp: row.timestamp }
  }
  // Every event new (the batch's own, on the hot path): each is as inserted, nothing to sort out.
  if (inserted.size === events.length) return { stored: inserted.size, asStored: events.map((_, i) => asInserted(i)) }
  const first = new Map<string, number>()
  events.forEach((e, i) => {
    const key = keyOf(e.team_id, e.uuid)
    if (!first.has(key)) first.set(key, i)
  })
  const asStored = new Map<number, IngestEvent>()
  const skipped: number[] = []
  for (const [key, i] of first) {
    if (inserted.has(key)) asStored.set(i, asInserted(i))
    else skipped.push(i)
  }
  if (skipped.length > 0) {
    const lookups = skipped.map((i) => ({ uuid: rows[i].uuid, team_id: rows[i].team_id, timestamp: rows[i].timestamp }))
    const found = await pool.query<StoredRow>(STORED_ROWS_SQL, [JSON.stringify(lookups), ...lookupRanges(lookups.map((l) => Date.parse(l.timestamp)))])
    for (const row of found.rows) {
      const i = skipped[row.n - 1]
      const { event, distinct_id, properties, ip, site_url } = row
      asStored.set(i, { ...events[i], event, distinct_id, properties, timestamp: row.timestamp.toISOString(), ip, site_url })
    }
  }
  return { stored: inserted.size, asStored: [...asStored.keys()].sort((a, b) => a - b).map((i) => asStored.get(i)!) }
}

interface StoredRow {
  n: number
  event: string
  distinct_id: string
  properties: Record<string, unknown>
  timestamp: Date
  ip: string | null
  site_url: string
}

type EventRow = Pick<IngestEvent, 'uuid' | 'team_id' | 'event' | 'distinct_id' | 'properties' | 'timestamp' | 'ip' | 'site_url'>

interface InsertedRows {
  /** The rows as Postgres was given them. */
  rows: EventRow[]
  /** (team, uuid) keys of the rows that were new. */
  inserted: Set<string>
  /** Whether the rows differ from the events: NULs or lone surrogates taken out (toPostgresJson), a long name cut. */
  cleaned: boolean
}

async function insertRows(pool: Pool, events: readonly IngestEvent[]): Promise<InsertedRows> {
  if (events.length === 0) return { rows: [], inserted: new Set(), cleaned: false }
  const now = new Date().toISOString()
  let named = false
  const times: number[] = []
  const rows = events.map((e) => ({
    uuid: e.uuid,
    team_id: e.team_id,
    event: e.event.length > MAX_EVENT_NAME_LENGTH ? ((named = true), cutEventName(e.event)) : e.event,
    distinct_id: e.distinct_id,
    properties: e.properties,
    timestamp: storableTimestamp(e.timestamp, now, times),
    ip: e.ip,
    site_url: e.site_url,
  }))
  const json = JSON.stringify(rows)
  const text = toPostgresJson(json)
  const values = [text, ...lookupRanges(times)]
  const result = await pool.query<{ team_id: number; uuid: string }>(
    fewEventsPartitions(pool) ? { name: INSERT_EVENTS_STATEMENT, text: INSERT_EVENTS_SQL, values } : { text: INSERT_EVENTS_SQL, values },
  )
  // The same string unless something was taken out (rare): then the rows are read back from the text
  // Postgres was given, so the exporters get what it holds, not the NULs an export's own database refuses.
  const scrubbed = text !== json
  // In the background: the batch's rows are committed, and its acknowledgement need not wait for statistics.
  void analyzeNewEventsPartitions(
    pool,
    events.map((e) => e.timestamp),
  ).catch(() => undefined)
  const inserted = new Set(result.rows.map((r) => keyOf(r.team_id, r.uuid)))
  return { rows: scrubbed ? (JSON.parse(text) as EventRow[]) : rows, inserted, cleaned: scrubbed || named }
}

/**
 * The timestamp as stored, its time in epoch milliseconds pushed onto `times`. Capture and the plugin
 * chain pass toISOString's; a batch queued by an older capture may hold a time Postgres refuses (one
 * fails the whole statement, on every retry: the time of the insert instead), or one in another form
 * (no zone, an offset, words), which this process and Postgres could read as different times:
 * written as read here (core parseDate: no zone is UTC, as capture reads it), so the lookups' bounds
 * (lookupRanges) hold what Postgres stores. An ISO time in UTC is kept as written (microseconds too).
 */
function storableTimestamp(timestamp: string, now: string, times: number[]): string {
  const ms = parseDate(timestamp)?.getTime() ?? Number.NaN
  if (!isStorableTime(ms)) {
    times.push(Date.parse(now))
    return now
  }
  times.push(ms)
  const iso = new Date(ms).toISOString()
  // The same date and second as read: not a day JS rolled over (February 30th), which Postgres refuses.
  return ISO_UTC.test(timestamp) && timestamp.slice(0, 19) === iso.slice(0, 19) ? timestamp : iso
}

/** toISOString's form, with up to microseconds (Postgres rounds more digits, into the next second at .9999995). */
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?Z$/

/**
 * How far from an event its stored twin can be, and more: EVENT_DEDUPE_WINDOW is a calendar day in
 * the session's time zone, which a daylight-saving change makes 25 hours (26 where clocks moved by
 * two); an hour to spare, and a millisecond for stored times with microseconds. The rows' own bounds
 * decide what is found; these only prune, so wider costs at most a partition.
 */
const LOOKUP_REACH_MS = 27 * 3600 * 1000 + 1
/** Times this far apart have reaches that do not meet: a range may end between them. */
const RANGE_GAP_MS = 2 * LOOKUP_REACH_MS

/**
 * The bounds of the lookups for stored uuids: at most EVENT_LOOKUP_RANGES time ranges, as 2 ×
 * EVENT_LOOKUP_RANGES ISO times (unused ranges repeat the first), that hold every stored event
 * within EVENT_DEDUPE_WINDOW of one of `times` (at least one). A plan made for a batch's values
 * locks only the partitions these touch: the lookup's own bounds come from each row, known only at
 * run time, so without them every insert locked every partition and its key, and a year of daily
 * partitions filled Postgres' lock table. The times are clustered where their reaches do not meet;
 * past EVENT_LOOKUP_RANGES clusters the nearest are merged, so a batch spread over a year still
 * locks what it spans, and no more than before.
 */
export function lookupRanges(times: readonly number[]): string[] {
  if (times.length === 0) throw new Error('lookupRanges: no times')
  const sorted = [...times].sort((a, b) => a - b)
  const ranges: [number, number][] = []
  for (const t of sorted) {
    const last = ranges[ranges.length - 1]
    if (last && t - last[1] <= RANGE_GAP_MS) last[1] = t
    else ranges.push([t, t])
  }
  while (ranges.length > EVENT_LOOKUP_RANGES) {
    let nearest = 0
    for (let i = 1; i < ranges.length - 1; i++) if (ranges[i + 1][0] - ranges[i][1] < ranges[nearest + 1][0] - ranges[nearest][1]) nearest = i
    ranges.splice(nearest, 2, [ranges[nearest][0], ranges[nearest + 1][1]])
  }
  const bound = (ms: number) => new Date(Math.min(Math.max(ms, EARLIEST_STORABLE_TIME), LATEST_STORABLE_TIME - 1)).toISOString()
  const bounds = ranges.flatMap(([from, to]) => [bound(from - LOOKUP_REACH_MS), bound(to + LOOKUP_REACH_MS)])
  while (bounds.length < 2 * EVENT_LOOKUP_RANGES) bounds.push(bounds[0], bounds[1])
  return bounds
}

/**
 * How much of an event's name is stored, as PostHog stores it (sanitizeEventName: the first 200
 * UTF-16 units, after the plugins ran). Capture takes names of any length up to the event's size.
 */
const MAX_EVENT_NAME_LENGTH = 200

/** The name's first MAX_EVENT_NAME_LENGTH units, without the first half of a surrogate pair the cut would split. */
function cutEventName(name: string): string {
  const last = name.charCodeAt(MAX_EVENT_NAME_LENGTH - 1)
  return name.slice(0, last >= 0xd800 && last <= 0xdbff ? MAX_EVENT_NAME_LENGTH - 1 : MAX_EVENT_NAME_LENGTH)
}

/** Postgres answers a uuid in lower case, whatever case it was given in. */
function keyOf(teamId: number, uuid: string): string {
  return `${teamId}:${uuid.toLowerCase()}`
}

export async function countEvents(pool: Pool, teamId?: number): Promise<number> {
  const { rows } =
    teamId === undefined
      ? await pool.query<{ n: string }>('SELECT count(*) AS n FROM events')
      : await pool.query<{ n: string }>('SELECT count(*) AS n FROM events WHERE team_id = $1', [teamId])
  return Number(rows[0].n)
}
