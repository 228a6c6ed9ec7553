import type { Pool } from 'pg'
import { MIGRATIONS, Migration } from './migrations'

/** Arbitrary constant: every pod running `migrate` at once queues on this lock, migration by migration, instead of racing. */
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
    const result: MigrateResult = { applied: [], alreadyApplied: [] }
    for (const migration of migrations) {
      await client.query('BEGIN')
      try {
        // Transaction-scoped, and every statement of a migration in its one transaction: behind
        // PgBouncer in transaction mode (which the chart's notes recommend) a session lock stayed on
        // whichever server connection took it, its unlock could run on another, and the migrations
        // of two pods no longer waited for each other.
        await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK])
        await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`)
        const { rowCount } = await client.query('SELECT 1 FROM schema_migrations WHERE id = $1', [migration.id])
        if (rowCount !== null && rowCount > 0) {
          await client.query('COMMIT')
          result.alreadyApplied.push(migration.id)
          continue
        }
        onApply?.(migration.id)
        await client.query(migration.sql)
        await client.query('INSERT INTO schema_migrations (id) VALUES ($1)', [migration.id])
        await client.query('COMMIT')
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined)
        throw new Error(`migration ${migration.id} failed: ${(err as Error).message}`)
      }
      result.applied.push(migration.id)
    }
    return result
  } finally {
    client.off('error', onError)
    client.release(lost)
  }
}
