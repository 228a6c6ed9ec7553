import { deleteTeamRow, listDeletedTeams, lockTeamForDelete, TeamHoldings } from '@plugin-server/db'
import { cleanDeletedTeams } from './clean-deleted-teams'
import { inTransaction } from './db-helpers'
import { forgetConfigMetrics } from './forget-metrics'
import { DeleteTeamResult, ManagementContext, ManagementError } from './interfaces'
import { notifyWorkers } from './notify'

/** Events are counted for the refusal up to this many: a big team's millions are never all counted. */
export const TEAM_EVENTS_COUNT_CAP = 100_000

function describe(teamId: number, held: TeamHoldings): string {
  const parts: string[] = []
  if (held.config_ids.length > 0) parts.push(`${held.config_ids.length} plugin config(s) (${held.config_ids.join(', ')})`)
  if (held.events > 0) parts.push(`${held.events >= TEAM_EVENTS_COUNT_CAP ? `${TEAM_EVENTS_COUNT_CAP} or more` : held.events} stored event(s)`)
  return `team ${teamId} (${JSON.stringify(held.team.name)}) has ${parts.join(' and ')}`
}

/**
 * Deletes a team: its row (its configs, with what cascades from them, and its admin tokens go with
 * it; migrations 0012 and 0014 record the configs and the team), then what has no foreign key — its
 * events, in bounded statements per daily partition, its plugin log rows — its configs' Redis state
 * as `deleteConfig` drops it, and its own Redis keys (clean-deleted-teams.ts). Refused while the
 * team has configs or stored events unless `force`, saying what it has. A delete that stopped after
 * its row went (a crash, a timeout, plain SQL) is finished by the scheduler's next pass, or by
 * deleting the team again while it is recorded. Capture accepts the team's token until its
 * TeamResolver refreshes its answer (about 10 s); the events it took meanwhile go when the record
 * is cleaned again 8 days later (DELETED_TEAM_GRACE_MS), with any of its events still queued then.
 */
export async function deleteTeam(
  ctx: ManagementContext,
  teamId: number,
  /** `forceHint`: how the caller's user forces it (`pass --force`, `add ?force=true`), for the refusal. */
  options: { force?: boolean; forceHint?: string } = {},
): Promise<DeleteTeamResult> {
  const held = await inTransaction(ctx.pool, async (client) => {
    const found = await lockTeamForDelete(client, teamId, TEAM_EVENTS_COUNT_CAP)
    if (!found) return null
    if (options.force !== true && (found.config_ids.length > 0 || found.events > 0)) {
      throw new ManagementError(
        'conflict',
        `${describe(teamId, found)}; delete them first, or ${options.forceHint ?? 'force the delete'} to delete the team with them (events, plugin log rows and Redis state included)`,
      )
    }
    await deleteTeamRow(client, teamId)
    return found
  })
  if (!held) return finishDeletedTeam(ctx, teamId)
  ctx.logger.info({ teamId, deletedConfigs: held.config_ids, deletedTokens: held.tokens }, 'team deleted')
  await forgetConfigMetrics(ctx, held.config_ids)
  await notifyWorkers(ctx, { reason: 'team deleted', teamId })
  // After the reload is out, as deleteConfig: a worker that still runs a config writes less after the
  // cleanup, which drops the configs' Redis state (cleanDeletedConfigs) before the team's own.
  const rest = await finish(ctx, teamId)
  return {
    id: teamId,
    name: held.team.name,
    deleted: true,
    already_deleted: false,
    deleted_configs: held.config_ids,
    deleted_tokens: held.tokens,
    deleted_events: rest.events,
    deleted_log_rows: rest.log_rows,
    redis_bytes_freed: rest.redis_bytes,
  }
}

/** A team whose row is gone but which is still recorded (migration 0014): what its delete left is dropped now. */
async function finishDeletedTeam(ctx: ManagementContext, teamId: number): Promise<DeleteTeamResult> {
  const [record] = await listDeletedTeams(ctx.pool, { afterId: teamId - 1, limit: 1, ids: [teamId], graceMs: 0 })
  if (!record) throw new ManagementError('not_found', `team ${teamId} not found`)
  const rest = await finish(ctx, teamId)
  return {
    id: teamId,
    name: record.name,
    deleted: true,
    already_deleted: true,
    deleted_configs: [],
    deleted_tokens: 0,
    deleted_events: rest.events,
    deleted_log_rows: rest.log_rows,
    redis_bytes_freed: rest.redis_bytes,
  }
}

async function finish(ctx: ManagementContext, teamId: number): ReturnType<typeof cleanDeletedTeams> {
  try {
    return await cleanDeletedTeams(ctx, { ids: [teamId] })
  } catch (err) {
    throw new Error(
      `team ${teamId} is deleted, but not all of its events, plugin log rows and Redis keys are yet (${(err as Error).message}); the scheduler's next pass deletes the rest, or delete the team again to finish now`,
    )
  }
}
