/**
 * A dead letter as stored, without its events (they can be large; read them one letter at a time).
 * `Method` is the export method names the caller knows.
 */
export interface DeadLetterRecord<Method extends string = string> {
  /** bigint, which pg returns as a string. */
  id: string
  plugin_config_id: number
  team_id: number
  method: Method
  event_count: number
  error: string
  retry_error: boolean
  attempts: number
  first_attempt_at: Date
  last_attempt_at: Date
  created_at: Date
  replayed_at: Date | null
}

export const DEAD_LETTER_COLUMNS =
  'id, plugin_config_id, team_id, method, event_count, error, retry_error, attempts, first_attempt_at, last_attempt_at, created_at, replayed_at'
