import type { Config, Logger } from '@plugin-server/core'
import { EventsPartitionMaintenance, maintainEventsPartitions } from '@plugin-server/db'
import type { Pool } from 'pg'
import { Counter, Gauge, Registry } from 'prom-client'
import { PeriodicPass } from './periodic-pass'

/** Daily partitions are made days ahead, so an hourly pass is plenty. */
const INTERVAL_MS = 3_600_000
/** A failed pass (database down, schema not migrated yet, a lock not had in time) is tried again sooner. */
const RETRY_MS = 60_000
/**
 * Past this many partitions (no retention, or one of more than about 90 days), each pass warns. The
 * events insert and historical exports lock only the partitions of their days, but a read not
 * bounded by time (a team's deletion, the demo's counts) reads and
 * locks each partition and its key, and Postgres' lock table holds max_locks_per_transaction (64) ×
 * max_connections of those for all sessions.
 */
export const EVENTS_PARTITIONS_WARNING = 100

/**
 * The scheduler keeps the events table's partitions: the coming days' ready, and (with
 * EVENTS_RETENTION_DAYS) those older than the retention dropped. Every replica runs it; the
 * changes themselves are serialized in Postgres (libs/db events-partitions).
 */
export class EventsPartitionMaintainer extends PeriodicPass<EventsPartitionMaintenance | null> {
  private readonly created: Counter
  private readonly dropped: Counter
  private readonly deletedRows: Counter
  private readonly failures: Counter
  private readonly partitions: Gauge

  constructor(
    private readonly pool: Pool,
    private readonly logger: Logger,
    registry: Registry,
    private readonly policy: Config['events'],
  ) {
    super(INTERVAL_MS)
    this.created = new Counter({ name: 'events_partitions_created_total', help: 'Daily events partitions created by this replica', registers: [registry] })
    this.dropped = new Counter({
      name: 'events_partitions_dropped_total',
      help: 'Events partitions dropped by this replica because all of their range is older than EVENTS_RETENTION_DAYS',
      registers: [registry],
    })
    this.deletedRows = new Counter({
      name: 'events_retention_deleted_rows_total',
      help: 'Events of the default partition (timestamps no daily partition covers) deleted as older than EVENTS_RETENTION_DAYS',
      registers: [registry],
    })
    this.failures = new Counter({
      name: 'events_partition_maintenance_failures_total',
      help: 'Partition maintenance passes that failed',
      registers: [registry],
    })
    this.partitions = new Gauge({
      name: 'events_partitions',
      help: 'Partitions of the events table after the last maintenance pass (the default one not counted); a read of events not bounded by time locks each of them',
      registers: [registry],
    })
  }

  /** The pass's outcome, or null when it failed. */
  protected async pass(): Promise<EventsPartitionMaintenance | null> {
    try {
      const result = await maintainEventsPartitions(this.pool, { aheadDays: this.policy.partitionsAheadDays, retentionDays: this.policy.retentionDays })
      this.created.inc(result.created.length)
      this.dropped.inc(result.dropped.length)
      this.deletedRows.inc(result.defaultRowsDeleted)
      this.partitions.set(result.partitions)
      if (result.partitions > EVENTS_PARTITIONS_WARNING) {
        const { retentionDays } = this.policy
        const keeps = retentionDays === null ? 'EVENTS_RETENTION_DAYS is off (one more a day)' : `EVENTS_RETENTION_DAYS (${retentionDays}) keeps that many days`
        const remedy = retentionDays === null ? 'set EVENTS_RETENTION_DAYS' : 'lower EVENTS_RETENTION_DAYS'
        this.logger.warn(
          { partitions: result.partitions },
          `the events table has ${result.partitions} partitions and ${keeps}: reads of events not bounded by time ` +
            `(a team's deletion, the demo's counts) read and lock each of them and its key, ` +
            `where Postgres holds max_locks_per_transaction × max_connections (64 × 100 by default) locks for all; ${remedy}, or raise max_locks_per_transaction`,
        )
      }
      if (result.created.length + result.dropped.length + result.defaultRowsDeleted > 0) {
        this.logger.info(
          {
            created: result.created,
            moved_from_default: result.movedRows,
            dropped: result.dropped,
            default_rows_deleted: result.defaultRowsDeleted,
            cutoff: result.cutoff?.toISOString() ?? null,
          },
          'events partitions maintained',
        )
      }
      return result
    } catch (err) {
      this.failures.inc()
      this.logger.warn({ err: (err as Error).message, retry_in_ms: RETRY_MS }, 'events partition maintenance failed')
      this.retryIn(RETRY_MS)
      return null
    }
  }
}
