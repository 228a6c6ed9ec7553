import { IngestEvent, toPostgresJson } from '@plugin-server/core'
import type { Pool } from 'pg'

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
 * One statement per batch, idempotent on (team, uuid) so a redelivered batch (a killed worker's job
 * run again) stores nothing twice. The uuid is the client's and identifies an event within its team
 * only: another team sending the same uuid gets its own row. NUL characters and lone UTF-16
 * surrogates, which Postgres cannot store, are removed / replaced rather than failing the batch.
 * Returns how many rows were new.
 */
export async function insertEvents(pool: Pool, events: readonly IngestEvent[]): Promise<number> {
  if (events.length === 0) return 0
  const rows = events.map((e) => ({
    uuid: e.uuid,
    team_id: e.team_id,
    event: e.event,
    distinct_id: e.distinct_id,
    properties: e.properties,
    timestamp: e.timestamp,
    ip: e.ip,
    site_url: e.site_url,
  }))
  const result = await pool.query(
    `INSERT INTO events (uuid, team_id, event, distinct_id, properties, timestamp, ip, site_url)
     SELECT uuid, team_id, event, distinct_id, properties, timestamp, ip, site_url
     FROM jsonb_to_recordset($1::jsonb) AS r(uuid uuid, team_id int, event text, distinct_id text,
       properties jsonb, timestamp timestamptz, ip text, site_url text)
     ON CONFLICT (team_id, uuid) DO NOTHING`,
    [toPostgresJson(JSON.stringify(rows))],
  )
  return result.rowCount ?? 0
}

export async function countEvents(pool: Pool, teamId?: number): Promise<number> {
  const { rows } =
    teamId === undefined
      ? await pool.query<{ n: string }>('SELECT count(*) AS n FROM events')
      : await pool.query<{ n: string }>('SELECT count(*) AS n FROM events WHERE team_id = $1', [teamId])
  return Number(rows[0].n)
}
