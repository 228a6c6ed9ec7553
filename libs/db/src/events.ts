import { IngestEvent, isStorableTime, toPostgresJson } from '@plugin-server/core'
import type { Pool } from 'pg'
import { analyzeNewEventsPartitions } from './events-partitions/analyze-new-events-partitions'

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
 * clock skew by capture and so may differ by the retry's delay. One day also bounds the dedupe
 * check to the two or three daily partitions around the event (run-time pruning).
 */
export const EVENT_DEDUPE_WINDOW = '1 day'

/** The statement insertEvents runs ($1: the rows as a JSON array); exported so tests can look at its plan. */
export const INSERT_EVENTS_SQL = `INSERT INTO events (uuid, team_id, event, distinct_id, properties, timestamp, ip, site_url)
  SELECT DISTINCT ON (r.team_id, r.uuid) r.uuid, r.team_id, r.event, r.distinct_id, r.properties, r.timestamp, r.ip, r.site_url
  FROM ROWS FROM (jsonb_to_recordset($1::jsonb) AS (uuid uuid, team_id int, event text, distinct_id text,
    properties jsonb, timestamp timestamptz, ip text, site_url text)) WITH ORDINALITY
    AS r(uuid, team_id, event, distinct_id, properties, timestamp, ip, site_url, n)
  -- LATERAL … LIMIT 1 keeps this a lookup per event (an anti join could scan every partition whole).
  LEFT JOIN LATERAL (
    SELECT true AS found FROM events e WHERE e.team_id = r.team_id AND e.uuid = r.uuid
      AND e.timestamp >= r.timestamp - interval '${EVENT_DEDUPE_WINDOW}' AND e.timestamp <= r.timestamp + interval '${EVENT_DEDUPE_WINDOW}'
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
    ORDER BY abs(extract(epoch FROM e.timestamp - r.timestamp)) LIMIT 1) e ON true`

/**
 * insertEvents' statement is prepared once per connection under this name: after five executions
 * Postgres reuses one generic plan instead of planning every batch. No value of $1 lets the planner
 * prune partitions (the dedupe lookup depends on each row), so the generic plan is the custom one
 * without the planning, whose cost grows with the number of partitions: with ~60 daily partitions,
 * 33 -> 20 µs of Postgres CPU per event (libs/db README). An ANALYZE of a partition (its first
 * batch, autovacuum) or a partition made or dropped invalidates the plan, so it is made again.
 * Behind PgBouncer in transaction mode this needs PgBouncer >= 1.21 with max_prepared_statements set.
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
    const found = await pool.query<StoredRow>(STORED_ROWS_SQL, [JSON.stringify(lookups)])
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
  const rows = events.map((e) => ({
    uuid: e.uuid,
    team_id: e.team_id,
    event: e.event.length > MAX_EVENT_NAME_LENGTH ? ((named = true), cutEventName(e.event)) : e.event,
    distinct_id: e.distinct_id,
    properties: e.properties,
    // Capture and the plugin chain only pass storable times; a batch queued by an older capture
    // may not, and one time Postgres refuses fails the whole statement, on every retry.
    timestamp: isStorableTime(Date.parse(e.timestamp)) ? e.timestamp : now,
    ip: e.ip,
    site_url: e.site_url,
  }))
  const json = JSON.stringify(rows)
  const text = toPostgresJson(json)
  const result = await pool.query<{ team_id: number; uuid: string }>({
    name: INSERT_EVENTS_STATEMENT,
    text: INSERT_EVENTS_SQL,
    values: [text],
  })
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
