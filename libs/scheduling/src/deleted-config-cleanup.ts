import { cleanDeletedConfigs, CleanupDeps } from '@plugin-server/management'
import { Counter, Registry } from 'prom-client'
import { PeriodicPass } from './periodic-pass'

/** Often enough that a delete whose own cleanup failed (Redis away) gives its team's bytes back within minutes. */
const INTERVAL_MS = 300_000

/**
 * The scheduler finishes what deletes left in Redis (libs/management clean-deleted-configs.ts): a
 * config whose delete could not reach Redis or crashed halfway, one deleted with its team in SQL,
 * and what a worker that had not reloaded yet wrote after the delete. At start and every 5 minutes,
 * on every replica (the cleanup is idempotent: two at once give nothing back twice). A failed pass is
 * logged and left to the next one.
 */
export class DeletedConfigCleanup extends PeriodicPass<void> {
  private readonly freed: Counter

  constructor(
    private readonly deps: CleanupDeps,
    registry: Registry,
  ) {
    super(INTERVAL_MS)
    this.freed = new Counter({
      name: 'deleted_config_redis_freed_bytes_total',
      help: "Bytes of deleted plugin configs' cursors, cache keys and queued jobs given back to their teams' Redis accounts by this replica's pass",
      registers: [registry],
    })
  }

  protected async pass(): Promise<void> {
    try {
      const done = await cleanDeletedConfigs(this.deps)
      this.freed.inc(done.bytes)
      if (done.keys + done.jobs > 0) this.deps.logger.info(done, "deleted plugin configs' Redis state dropped")
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, "dropping deleted plugin configs' Redis state failed; tried again at the next pass")
    }
  }
}
