import type { Pool } from 'pg'
import { MIGRATIONS, Migration } from './migrations'

/** Arbitrary constant: every pod running `migrate` at once queues on this lock instead of racing. */
const MIGRATION_LOCK = 74_201_563

export interface MigrateResult {
  applied: string[]
  alreadyApplied: string[]
}

export async function migrate(pool: Pool, migrations: readonly Migration[] = MIGRATIONS, onApply?: (id: string) => void): Promise<MigrateResult> {
  const client = await pool.connect()
  // Checked out, the client's 'error' is pg-pool's no longer (see inTransaction): a connection lost
  // while migrating fails the next query here instead of ending the process, and is not pooled.
  let lost: Error | undefined
  const onError = (err: Error): void => void (lost ??= err)
  client.on('error', onError)
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK])
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`)
      const { rows } = await client.query<{ id: string }>('SELECT id FROM schema_migrations')
      const done = new Set(rows.map((r) => r.id))
      const result: MigrateResult = { applied: [], alreadyApplied: [] }
      for (const migration of migrations) {
        if (done.has(migration.id)) {
          result.alreadyApplied.push(migration.id)
          continue
        }
        onApply?.(migration.id)
        await client.query('BEGIN')
        try {
          await client.query(migration.sql)
          await client.query('INSERT INTO schema_migrations (id) VALUES ($1)', [migration.id])
          await client.query('COMMIT')
        } catch (err) {
          await client.query('ROLLBACK')
          throw new Error(`migration ${migration.id} failed: ${(err as Error).message}`)
        }
        result.applied.push(migration.id)
      }
      return result
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK])
    }
  } finally {
    client.off('error', onError)
    client.release(lost)
  }
}
