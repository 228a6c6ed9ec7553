import type { Logger } from '@plugin-server/core'
import { databaseNow, deletePluginLogsBefore } from '@plugin-server/db'
import type { Pool } from 'pg'
import { Counter, Registry } from 'prom-client'
import { PeriodicPass } from './periodic-pass'

/** Rows are days old before they go: an hourly pass keeps the table within an hour of the limit. */
const INTERVAL_MS = 3_600_000

/**
 * The scheduler deletes plugin log rows older than PLUGIN_LOG_RETENTION_DAYS, at start and every hour,
 * on every replica (two deleting at once skip each other's rows, nothing more; libs/db
 * plugin-logs). A failed pass is logged and left to the next one.
 */
export class PluginLogRetention extends PeriodicPass<number | null> {
  private readonly deleted: Counter

  constructor(
    private readonly pool: Pool,
    private readonly logger: Logger,
    registry: Registry,
    /** Null (PLUGIN_LOG_RETENTION_DAYS=0): rows are kept, and the counter stays at 0. */
    private readonly retentionDays: number | null,
  ) {
    super(INTERVAL_MS)
    this.deleted = new Counter({
      name: 'plugin_logs_retention_deleted_rows_total',
      help: 'Plugin log rows deleted by this replica as older than PLUGIN_LOG_RETENTION_DAYS',
      registers: [registry],
    })
  }

  protected override enabled(): boolean {
    return this.retentionDays !== null
  }

  /** The rows deleted, or null when the pass failed. */
  protected async pass(): Promise<number | null> {
    if (this.retentionDays === null) return 0
    try {
      // The database's clock, the same for every replica: one whose clock ran ahead deleted rows still within their days.
      const cutoff = new Date((await databaseNow(this.pool)).getTime() - this.retentionDays * 86_400_000)
      const deleted = await deletePluginLogsBefore(this.pool, cutoff)
      this.deleted.inc(deleted)
      if (deleted > 0) this.logger.info({ deleted, cutoff: cutoff.toISOString() }, 'plugin log rows older than PLUGIN_LOG_RETENTION_DAYS deleted')
      return deleted
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'plugin log retention failed; tried again at the next pass')
      return null
    }
  }
}
