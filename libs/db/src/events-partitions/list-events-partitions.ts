import type { Pool } from 'pg'

export interface EventsPartition {
  name: string
  /** The default partition (events_default) holds every timestamp no other partition covers. */
  isDefault: boolean
  /** Inclusive lower bound; null: MINVALUE (or the default partition). */
  from: Date | null
  /** Exclusive upper bound; null: MAXVALUE (or the default partition). */
  to: Date | null
}

/**
 * The partitions of events with their ranges. Bounds are read back from Postgres' own text of them
 * (cast to timestamptz in SQL, so whatever the session's time zone they are exact).
 */
export async function listEventsPartitions(pool: Pool): Promise<EventsPartition[]> {
  const { rows } = await pool.query<{ name: string; is_default: boolean; from: Date | null; to: Date | null }>(
    `SELECT name, bound = 'DEFAULT' AS is_default,
       (regexp_match(bound, 'FROM \\(''([^'']+)''\\)'))[1]::timestamptz AS "from",
       (regexp_match(bound, 'TO \\(''([^'']+)''\\)'))[1]::timestamptz AS "to"
     FROM (SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
           FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           WHERE i.inhparent = 'events'::regclass) p
     ORDER BY "from" NULLS FIRST, name`,
  )
  return rows.map((r) => ({ name: r.name, isDefault: r.is_default, from: r.from, to: r.to }))
}
