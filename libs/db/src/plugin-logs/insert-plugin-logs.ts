import type { Pool } from 'pg'
import { toPostgresJson } from '@plugin-server/core'
import { inTransaction } from '../in-transaction'
import { NewPluginLogRow } from './plugin-log-row'

/**
 * Writes rows in one INSERT. Every writer (each worker process) takes the same transaction lock
 * first, so ids become visible in the order they were given out: a reader following with
 * `id > last seen` can never see id 11 committed while id 10 is still to come and then skip it.
 * One INSERT per process per flush interval keeps the lock cheap.
 */
export async function insertPluginLogs(pool: Pool, rows: readonly NewPluginLogRow[]): Promise<void> {
  if (rows.length === 0) return
  await inTransaction(pool, async (client) => {
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('plugin_log_entries'), 0)`)
    await client.query(
      `INSERT INTO plugin_log_entries (team_id, plugin_id, plugin_config_id, timestamp, source, type, message, instance_id)
       SELECT team_id, plugin_id, plugin_config_id, timestamp, source, type, message, instance_id
       FROM jsonb_to_recordset($1::jsonb) AS r(team_id int, plugin_id int, plugin_config_id int, timestamp timestamptz,
         source text, type text, message text, instance_id text)`,
      [toPostgresJson(JSON.stringify(rows))],
    )
  })
}
