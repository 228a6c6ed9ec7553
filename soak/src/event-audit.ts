import type { Pool } from 'pg'
import { eventKey, missing } from '../../chaos/dist/keys'
import type { Load } from '../../chaos/dist/load'
import type { ChaosSink } from '../../chaos/dist/sink'

export interface EventFigures {
  sent: number
  acknowledged: number
  /** Distinct events stored (by team and uuid). */
  stored: number
  /** Rows beyond the first for the same team and uuid. */
  storedDuplicates: number
  /** Acknowledged, not stored. */
  lost: number
  /** Stored without the plugin's enrichment: processEvent failed (as when a reload disposes the plugin under the call). */
  unprocessed: number
  /** Stored events exported at least once. */
  exported: number
  /** Stored, never exported. */
  notExported: number
  /** Events exported more than once. */
  exportDuplicates: number
  /** Jobs processEvent enqueued: one per stored, processed event flagged with_job. */
  jobsExpected: number
  jobsRan: number
  jobsRanTwice: number
  scheduledRuns: number
}

export interface StoredEvent {
  rows: number
  /** Whether the soak plugin's processEvent ran on it. */
  processed: boolean
}

/** Every stored event, by team and uuid, with how many rows it has. */
export async function storedEvents(pool: Pool): Promise<Map<string, StoredEvent>> {
  const { rows } = await pool.query<{ team_id: number; uuid: string; n: string; processed: boolean }>(
    `SELECT team_id, uuid, count(*) AS n, bool_and(properties ? 'soak_processed_by') AS processed FROM events GROUP BY team_id, uuid`,
  )
  return new Map(rows.map((r) => [eventKey(r.team_id, r.uuid), { rows: Number(r.n), processed: r.processed }]))
}

/** Stored events whose processEvent enqueued a job. */
export function jobKeys(load: Pick<Load, 'sent'>, stored: ReadonlyMap<string, StoredEvent>): string[] {
  return [...stored].filter(([key, e]) => e.processed && load.sent.get(key)?.withJob).map(([key]) => key)
}

/** Acknowledged vs stored vs exported, and jobs asked for vs run: a soak run without faults may lose or repeat nothing. */
export function auditEvents(
  load: Pick<Load, 'sent' | 'acked'>,
  stored: ReadonlyMap<string, StoredEvent>,
  sink: Pick<ChaosSink, 'exported' | 'jobs' | 'runs'>,
): EventFigures {
  const storedKeys = [...stored.keys()]
  const jobsExpected = jobKeys(load, stored)
  return {
    sent: load.sent.size,
    acknowledged: load.acked.size,
    stored: stored.size,
    storedDuplicates: [...stored.values()].reduce((sum, e) => sum + e.rows - 1, 0),
    lost: missing(load.acked.keys(), stored).length,
    unprocessed: [...stored.values()].filter((e) => !e.processed).length,
    exported: storedKeys.filter((key) => sink.exported.has(key)).length,
    notExported: missing(storedKeys, sink.exported).length,
    exportDuplicates: [...sink.exported.values()].filter((n) => n > 1).length,
    jobsExpected: jobsExpected.length,
    jobsRan: jobsExpected.filter((key) => sink.jobs.has(key)).length,
    jobsRanTwice: [...sink.jobs.values()].filter((n) => n > 1).length,
    scheduledRuns: [...sink.runs.values()].filter((r) => r.end !== null).length,
  }
}
