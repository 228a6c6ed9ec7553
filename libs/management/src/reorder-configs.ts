import { lockTeamPluginConfigIds, setPluginConfigOrder } from '@plugin-server/db'
import { assertTeamExists, inTransaction } from './db-helpers'
import { ManagementContext, ManagementError, PluginConfigView } from './interfaces'
import { listConfigs } from './list-configs'
import { lockTeamOrder } from './make-room-for-order'
import { notifyWorkers } from './notify'

/**
 * Sets the processEvent order of a team's configs: `ids` lists every config of the team exactly
 * once, first runs first. A partial list is refused rather than guessed at, since a config left
 * out would otherwise keep an order that may collide with the new ones.
 */
export async function reorderConfigs(ctx: ManagementContext, teamId: number, ids: readonly number[]): Promise<PluginConfigView[]> {
  await assertTeamExists(ctx.pool, teamId)
  await inTransaction(ctx.pool, async (client) => {
    await lockTeamOrder(client, teamId)
    // Locked so a config created meanwhile cannot slip past the completeness check.
    assertSameIds(await lockTeamPluginConfigIds(client, teamId), ids)
    await setPluginConfigOrder(client, ids)
  })
  ctx.logger.info({ teamId, order: ids }, 'plugin configs reordered')
  await notifyWorkers(ctx, { reason: 'configs reordered', teamId })
  return listConfigs(ctx, teamId)
}

function assertSameIds(existing: readonly number[], given: readonly number[]): void {
  const seen = new Set<number>()
  const duplicates = given.filter((id) => (seen.has(id) ? true : (seen.add(id), false)))
  const own = new Set(existing)
  const foreign = given.filter((id) => !own.has(id))
  const missing = existing.filter((id) => !seen.has(id))
  const problems = [
    duplicates.length > 0 ? `listed more than once: ${[...new Set(duplicates)].join(', ')}` : null,
    foreign.length > 0 ? `not configs of this team: ${foreign.join(', ')}` : null,
    missing.length > 0 ? `missing: ${missing.join(', ')}` : null,
  ].filter((p): p is string => p !== null)
  if (problems.length > 0) {
    throw new ManagementError('validation_error', `ids must list every config of the team exactly once (${problems.join('; ')})`, 'ids')
  }
}
