import type { Pool } from 'pg'
import { MIGRATIONS, Migration } from './migrations'

/** Arbitrary constant: every pod running `migrate` at once queues on this lock, migration by migration, instead of racing. */
const MIGRATION_LOCK = 74_201_563

export interface MigrateResult {
  applied: string[]
  alreadyApplied: string[]
}

export interface MigrateOptions {
  /** How long one statement of a migration waits for a table's lock before the attempt is rolled back (lock_timeout); 5 000. */
  lockTimeoutMs?: number
  /**
   * Lock timeouts a run takes, whichever migrations they hit, before it fails; a migration is tried
   * again 1 s after its first, doubling to 30 s. 10: about 3.5 min with the default timeout, inside
   * the chart's migration Job deadline (600 s) however many migrations wait.
   */
  lockAttempts?: number
}

/** SQLSTATE lock_not_available: lock_timeout ran out. */
const LOCK_NOT_AVAILABLE = '55P03'

/**
 * Applies the pending migrations, each in its own transaction. A migration that changes a table
 * waits for its lock behind every transaction reading it, and while it waits every later query of
 * that table waits behind it: the configs re-read of every pod, so the whole fleet failed readiness
 * behind one long report. Its statements wait at most `lockTimeoutMs`; the attempt is then rolled
 * back, the readers go on, and it is tried again later.
 */
export async function migrate(
  pool: Pool,
  migrations: readonly Migration[] = MIGRATIONS,
  onApply?: (id: string) => void,
  options: MigrateOptions = {},
): Promise<MigrateResult> {
  const lockTimeoutMs = options.lockTimeoutMs ?? 5_000
  const lockAttempts = options.lockAttempts ?? 10
  const client = await pool.connect()
  // Checked out, the client's 'error' is pg-pool's no longer (see inTransaction): a connection lost
  // while migrating fails the next query here instead of ending the process, and is not pooled.
  let lost: Error | undefined
  const onError = (err: Error): void => void (lost ??= err)
  client.on('error', onError)
  try {
    const result: MigrateResult = { applied: [], alreadyApplied: [] }
    let lockTimeouts = 0
    const announced = new Set<string>()
    for (const migration of migrations) {
      for (let attempt = 1; ; attempt++) {
        await client.query('BEGIN')
        try {
          // Transaction-scoped, and every statement of a migration in its one transaction: behind
          // PgBouncer in transaction mode (which the chart's notes recommend) a session lock stayed on
          // whichever server connection took it, its unlock could run on another, and the migrations
          // of two pods no longer waited for each other.
          await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK])
          // After the advisory lock: pods wait for each other's migrations as long as those take.
          await client.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.round(lockTimeoutMs))}`)
          await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`)
          const { rowCount } = await client.query('SELECT 1 FROM schema_migrations WHERE id = $1', [migration.id])
          if (rowCount !== null && rowCount > 0) {
            await client.query('COMMIT')
            result.alreadyApplied.push(migration.id)
            break
          }
          if (!announced.has(migration.id)) onApply?.(migration.id)
          announced.add(migration.id)
          await client.query(migration.sql)
          await client.query('INSERT INTO schema_migrations (id) VALUES ($1)', [migration.id])
          await client.query('COMMIT')
          result.applied.push(migration.id)
          break
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined)
          const message = (err as Error).message
          if ((err as { code?: string }).code !== LOCK_NOT_AVAILABLE) throw new Error(`migration ${migration.id} failed: ${message}`)
          if (++lockTimeouts >= lockAttempts) {
            throw new Error(
              `migration ${migration.id} failed: its locks were not granted within ${lockTimeoutMs} ms in ${attempt} attempts (${lockTimeouts} in this run) ` +
                `(a long-running transaction holds a table it changes; nothing of it was applied, run migrate again once it ends): ${message}`,
            )
          }
          await new Promise((resolve) => setTimeout(resolve, Math.min(30_000, 1_000 * 2 ** (attempt - 1))))
        }
      }
    }
    return result
  } finally {
    client.off('error', onError)
    client.release(lost)
  }
}
