import type { Logger } from '@plugin-server/core'
import { databaseNow, deleteDeadLettersBefore } from '@plugin-server/db'
import type { Pool } from 'pg'
import { Counter, Registry } from 'prom-client'
import { PeriodicPass } from './periodic-pass'

/** Letters are days old before they go: an hourly pass keeps the table within an hour of the limits. */
const INTERVAL_MS = 3_600_000
const DAY_MS = 86_400_000

export interface DeadLetterRetentionDays {
  /** EXPORT_DEAD_LETTER_RETENTION_DAYS: not replayed, from their creation; null keeps them. */
  pending: number | null
  /** EXPORT_DEAD_LETTER_REPLAYED_RETENTION_DAYS: replayed, from their replay; null keeps them. */
  replayed: number | null
}

/**
 * The scheduler deletes export dead letters (each a whole batch of events) older than their retention,
 * beside plugin log retention: at start and every hour, on every replica (two at once take different
 * rows, libs/db dead-letters). A failed pass is logged and left to the next one.
 */
export class DeadLetterRetention extends PeriodicPass<{ pending: number; replayed: number } | null> {
  private readonly deleted: Counter<'kind'>

  constructor(
    private readonly pool: Pool,
    private readonly logger: Logger,
    registry: Registry,
    private readonly days: DeadLetterRetentionDays,
  ) {
    super(INTERVAL_MS)
    this.deleted = new Counter({
      name: 'export_dead_letters_retention_deleted_total',
      help: 'Export dead letters deleted by this replica: kind pending (EXPORT_DEAD_LETTER_RETENTION_DAYS) or replayed (EXPORT_DEAD_LETTER_REPLAYED_RETENTION_DAYS)',
      labelNames: ['kind'],
      registers: [registry],
    })
  }

  protected override enabled(): boolean {
    return this.days.pending !== null || this.days.replayed !== null
  }

  /** The letters deleted, or null when the pass failed. */
  protected async pass(): Promise<{ pending: number; replayed: number } | null> {
    try {
      // The database's clock, which stamped created_at: a replica whose clock ran ahead deleted letters still within their days.
      const now = (await databaseNow(this.pool)).getTime()
      const cutoff = (days: number | null) => (days === null ? null : new Date(now - days * DAY_MS))
      const deleted = await deleteDeadLettersBefore(this.pool, { pending: cutoff(this.days.pending), replayed: cutoff(this.days.replayed) })
      this.deleted.inc({ kind: 'pending' }, deleted.pending)
      this.deleted.inc({ kind: 'replayed' }, deleted.replayed)
      if (deleted.pending + deleted.replayed > 0) this.logger.info(deleted, 'export dead letters past their retention deleted')
      return deleted
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'export dead letter retention failed; tried again at the next pass')
      return null
    }
  }
}
