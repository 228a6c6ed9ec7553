import type { Pool } from 'pg'
import { deletePluginLogsWhere } from './delete-plugin-logs-where'

/**
 * Deletes plugin log rows written before `cutoff` (PLUGIN_LOG_RETENTION_DAYS), config by config
 * through its (plugin_config_id, timestamp) index, wherever they are in id order: the pass used to
 * walk the primary key from its start and stop at the first batch with no old row, on the claim that
 * ids follow timestamps — but a row's timestamp is its writer's clock, so 10 000 rows of a writer
 * whose clock ran 3 days ahead at the head of the table stopped retention for good, with every older
 * row behind them kept. Answers how many rows went.
 */
export function deletePluginLogsBefore(pool: Pool, cutoff: Date, batch = 10_000): Promise<number> {
  return deletePluginLogsWhere(pool, 'timestamp < $2', cutoff, batch)
}
