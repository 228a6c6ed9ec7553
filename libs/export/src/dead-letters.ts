import { toPostgresJson, toPostgresText } from '@plugin-server/core'
import { countDeadLetters, DeadLetterRecord, insertDeadLetterRow, listDeadLetterRecords, readDeadLetterEvents } from '@plugin-server/db'
import type { Pool } from 'pg'
import type { AttemptRecord, DeadLetter, ExportMethod, ProcessedPluginEvent } from './interfaces'

export interface NewDeadLetter {
  jobKey: string
  configId: number
  teamId: number
  method: ExportMethod
  events: readonly ProcessedPluginEvent[]
  error: string
  retryError: boolean
  attempts: readonly AttemptRecord[]
}

/** Idempotent on the job key: a delivery job redelivered after a crash records its dead letter once. */
export async function insertDeadLetter(pool: Pool, letter: NewDeadLetter): Promise<boolean> {
  const first = letter.attempts[0]?.at ?? Date.now()
  const last = letter.attempts[letter.attempts.length - 1]?.at ?? first
  return insertDeadLetterRow(pool, {
    jobKey: letter.jobKey,
    configId: letter.configId,
    teamId: letter.teamId,
    method: letter.method,
    // Postgres refuses NUL and (in jsonb) lone surrogates, which an event or a plugin's error may
    // carry: a letter refused here was retried and finally lost with its batch, so they are dropped.
    eventsJson: toPostgresJson(JSON.stringify(letter.events)),
    eventCount: letter.events.length,
    error: toPostgresText(letter.error),
    retryError: letter.retryError,
    attempts: letter.attempts.length,
    firstAttemptAt: first,
    lastAttemptAt: last,
  })
}

type Row = DeadLetterRecord<ExportMethod>

export function toDeadLetter(r: Row): DeadLetter {
  return {
    id: Number(r.id),
    pluginConfigId: r.plugin_config_id,
    teamId: r.team_id,
    method: r.method,
    eventCount: r.event_count,
    error: r.error,
    retryError: r.retry_error,
    attempts: r.attempts,
    firstAttemptAt: r.first_attempt_at.toISOString(),
    lastAttemptAt: r.last_attempt_at.toISOString(),
    createdAt: r.created_at.toISOString(),
    replayedAt: r.replayed_at?.toISOString() ?? null,
  }
}

export interface DeadLetterQuery {
  since?: Date
  onlyPending?: boolean
  /** Only these dead letters (of the config). */
  ids?: readonly number[]
  /** Newest first and at most `limit` of them; by default all, oldest first. */
  newest?: number
  /** Oldest first and at most this many (without `newest`). */
  oldest?: number
}

export async function listDeadLetters(pool: Pool, configId: number, options: DeadLetterQuery = {}): Promise<DeadLetter[]> {
  const rows = await listDeadLetterRecords<ExportMethod>(pool, configId, {
    since: options.since ?? null,
    onlyPending: options.onlyPending ?? false,
    ids: options.ids ?? null,
    newest: options.newest ?? null,
    oldest: options.oldest ?? null,
  })
  return rows.map(toDeadLetter)
}

export async function deadLetterEvents(pool: Pool, id: number): Promise<ProcessedPluginEvent[]> {
  return readDeadLetterEvents<ProcessedPluginEvent>(pool, id)
}

export async function deadLetterCounts(pool: Pool, configId: number): Promise<{ pending: number; pendingEvents: number; replayed: number }> {
  return countDeadLetters(pool, configId)
}
