import { cleanDeletedConfigs, cleanDeletedTeams, CleanupDeps } from '@plugin-server/management'
import { Counter, Registry } from 'prom-client'
import { PeriodicPass } from './periodic-pass'

/** Often enough that a delete whose own cleanup failed (Redis away) gives its team's bytes back within minutes. */
const INTERVAL_MS = 300_000

/**
 * The scheduler finishes what deletes left in Redis (libs/management clean-deleted-configs.ts): a
 * config whose delete could not reach Redis or crashed halfway, one deleted with its team in SQL,
 * and what a worker that had not reloaded yet wrote after the delete. Then what deleted teams left
 * (clean-deleted-teams.ts): the events and plugin log rows of a team whose `team delete` stopped
 * halfway or that was deleted in SQL, its Redis keys, and the events capture still accepted before it
 * saw the team gone. At start and every 5 minutes, on every replica (the cleanups are idempotent:
 * two at once give nothing back twice, delete no row twice). A failed pass is logged and left to the
 * next one.
 */
export class DeletedConfigCleanup extends PeriodicPass<void> {
  private readonly freed: Counter
  private readonly teamRows: Counter

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
    this.teamRows = new Counter({
      name: 'deleted_team_rows_deleted_total',
      help: "Events and plugin log rows of deleted teams deleted by this replica's pass",
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
    // After the configs: a team's account is dropped once its configs gave back what they hold.
    try {
      const done = await cleanDeletedTeams(this.deps)
      this.teamRows.inc(done.events + done.log_rows)
      if (done.events + done.log_rows + done.redis_keys > 0) this.deps.logger.info(done, "deleted teams' events, log rows and Redis state dropped")
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, "dropping deleted teams' events, log rows and Redis state failed; tried again at the next pass")
    }
  }
}
