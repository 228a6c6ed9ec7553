import type { Logger } from '@plugin-server/core'
import { logTarget, PluginLogWriter, PluginManager } from '@plugin-server/plugin-runtime'
import { PluginConfigGoneError } from '@plugin-server/db'
import type { Pool } from 'pg'
import { insertDeadLetter } from './dead-letters'
import type { NewDelivery } from './delivery-queue'
import type { ExportMetrics } from './export-metrics'
import type { PendingLimit } from './pending-events'
import { PendingLimits, pendingLimitText } from './pending-limit-text'

export interface SpillDeps extends PendingLimits {
  pool: Pool
  manager: PluginManager
  metrics: ExportMetrics
  logs: PluginLogWriter
  logger: Logger
}

/**
 * A live delivery there was no room for (its config's EXPORT_MAX_PENDING_EVENTS, its team's
 * EXPORT_TEAM_MAX_PENDING_EVENTS or all teams' EXPORT_FLEET_MAX_PENDING_EVENTS): its events become a dead letter at once, never attempted, counted
 * as undelivered and said in the config's logs, so the team replays them once its destination is
 * back. Idempotent on the job id, like every dead letter.
 */
export async function spillDelivery(deps: SpillDeps, delivery: NewDelivery, limit: PendingLimit, pending: number): Promise<void> {
  const { configId, teamId, method, events } = delivery.data
  const replay = `plugin-server export replay ${configId}`
  const cause = {
    config: 'its destination is failing or too slow',
    team: 'their destinations are failing or too slow',
    fleet: 'destinations are failing or too slow',
  }
  const error = `not sent: ${pendingLimitText(limit, pending, { configId, teamId }, deps)}: ${cause[limit]}. Replay once the destination is back: ${replay}`
  try {
    await insertDeadLetter(deps.pool, { jobKey: `${delivery.jobId}-overflow`, configId, teamId, method, events, error, retryError: false, attempts: [] })
  } catch (err) {
    if (!(err instanceof PluginConfigGoneError)) throw err
    // Deleted since the hand-off was fanned out: its dead letters are gone with it, so these are dropped, not retried.
    deps.logger.warn({ plugin_config_id: configId, team_id: teamId, method, events: events.length }, 'export batch of a deleted plugin config dropped')
    return
  }
  const record = deps.manager.enabledConfigs().find((r) => r.id === configId)
  await deps.metrics.add({ teamId, pluginName: record?.pluginName ?? 'unknown', configId }, method, { undelivered_events: events.length })
  if (record) deps.logs.write(logTarget(record), 'SYSTEM', 'ERROR', `${method}: ${events.length} events kept as a dead letter: ${error}`)
  else deps.logger.error({ plugin_config_id: configId, team_id: teamId, method, events: events.length, err: error }, 'export batch kept as a dead letter')
}
