import type { Pool } from 'pg'

export interface DeadLetterRowInput {
  jobKey: string
  configId: number
  teamId: number
  method: string
  /** The events as a JSON array, already serialized. */
  eventsJson: string
  eventCount: number
  error: string
  retryError: boolean
  attempts: number
  /** Epoch milliseconds. */
  firstAttemptAt: number
  lastAttemptAt: number
}

/**
 * The letter's config is no longer in plugin_configs (deleted, with its plugin or its team): Postgres
 * itself answered so (the foreign key), so unlike a connection error it is no reason to try again.
 */
export class PluginConfigGoneError extends Error {
  override name = 'PluginConfigGoneError'

  constructor(readonly configId: number) {
    super(`plugin config ${configId} no longer exists: its dead letter cannot be kept`)
  }
}

const FOREIGN_KEY_VIOLATION = '23503'

/** Idempotent on the job key; true when this call stored the letter. Throws PluginConfigGoneError when the config is deleted. */
export async function insertDeadLetterRow(pool: Pool, d: DeadLetterRowInput): Promise<boolean> {
  try {
    const result = await pool.query(
      `INSERT INTO export_dead_letters (job_key, plugin_config_id, team_id, method, events, event_count, error, retry_error, attempts, first_attempt_at, last_attempt_at)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, to_timestamp($10 / 1000.0), to_timestamp($11 / 1000.0))
       ON CONFLICT (job_key) DO NOTHING`,
      [d.jobKey, d.configId, d.teamId, d.method, d.eventsJson, d.eventCount, d.error, d.retryError, d.attempts, d.firstAttemptAt, d.lastAttemptAt],
    )
    return (result.rowCount ?? 0) > 0
  } catch (error) {
    // plugin_config_id is the table's only foreign key.
    if ((error as { code?: string }).code === FOREIGN_KEY_VIOLATION) throw new PluginConfigGoneError(d.configId)
    throw error
  }
}
