import type { Pool } from 'pg'
import { inTransaction } from '../in-transaction'
import { HISTORICAL_RUN_COLUMNS, HistoricalRunRecord, HistoricalRunRow, toHistoricalRun } from './historical-run-record'

export interface NewHistoricalRun {
  configId: number
  teamId: number
  from: Date
  to: Date
  batchSize: number
  maxInFlight: number
  /** Unfinished (queued or running) runs one config, and all of one team's configs, may have. */
  maxUnfinished: { config: number; team: number }
}

/**
 * - `created`: a new queued run, its snapshot bound taken now;
 * - `existing`: the unfinished run of exactly this config and range (a second start joins it);
 * - `overlap`: an unfinished run of the config whose range overlaps this one but is not the same;
 * - `limit`: the config, or its team, already has `maxUnfinished` unfinished runs.
 */
export type CreateHistoricalRunResult =
  { outcome: 'created' | 'existing' | 'overlap'; run: HistoricalRunRecord } | { outcome: 'limit'; of: 'config' | 'team'; unfinished: number }

/**
 * One unfinished run per config and range, fleet-wide, no two unfinished runs of a config with
 * overlapping ranges, and no more unfinished runs than `maxUnfinished`: the checks and the insert
 * hold a per-team and a per-config advisory lock (in that order), so two API replicas or CLIs
 * starting at once cannot both insert.
 */
export async function createHistoricalRun(pool: Pool, run: NewHistoricalRun): Promise<CreateHistoricalRunResult> {
  return inTransaction(pool, async (client) => {
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('export_historical_runs_team'), $1)`, [run.teamId])
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('export_historical_runs'), $1)`, [run.configId])
    const { rows: active } = await client.query<HistoricalRunRow>(
      `SELECT ${HISTORICAL_RUN_COLUMNS} FROM export_historical_runs
       WHERE plugin_config_id = $1 AND status IN ('queued', 'running') AND range_from < $3 AND range_to > $2 ORDER BY id`,
      [run.configId, run.from, run.to],
    )
    const same = active.find((r) => r.range_from.getTime() === run.from.getTime() && r.range_to.getTime() === run.to.getTime())
    let result: CreateHistoricalRunResult
    if (same) result = { outcome: 'existing', run: toHistoricalRun(same) }
    else if (active.length > 0) result = { outcome: 'overlap', run: toHistoricalRun(active[0]) }
    else {
      const { rows: counts } = await client.query<{ config: number; team: number }>(
        `SELECT count(*) FILTER (WHERE plugin_config_id = $1)::int AS config, count(*)::int AS team
         FROM export_historical_runs WHERE team_id = $2 AND status IN ('queued', 'running')`,
        [run.configId, run.teamId],
      )
      const { config, team } = counts[0]
      if (config >= run.maxUnfinished.config) return { outcome: 'limit', of: 'config', unfinished: config }
      if (team >= run.maxUnfinished.team) return { outcome: 'limit', of: 'team', unfinished: team }
      const { rows } = await client.query<HistoricalRunRow>(
        `INSERT INTO export_historical_runs (plugin_config_id, team_id, range_from, range_to, batch_size, max_in_flight, status, snapshot_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'queued', clock_timestamp())
         RETURNING ${HISTORICAL_RUN_COLUMNS}`,
        [run.configId, run.teamId, run.from, run.to, run.batchSize, run.maxInFlight],
      )
      result = { outcome: 'created', run: toHistoricalRun(rows[0]) }
    }
    return result
  })
}
