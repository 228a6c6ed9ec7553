import { assertTeamExists, attachmentViews, configView, listConfigRows } from './db-helpers'
import { ManagementContext, PluginConfigView } from './interfaces'
import { toConfigView } from './redact'

/** In the order the team's processEvent chain runs them. */
export async function listConfigs(ctx: ManagementContext, teamId: number): Promise<PluginConfigView[]> {
  await assertTeamExists(ctx.pool, teamId)
  const rows = await listConfigRows(ctx.pool, ctx.secrets, teamId)
  const attachments = await attachmentViews(
    ctx.pool,
    rows.map((r) => r.id),
  )
  return rows.map((row) => toConfigView(row, attachments.get(row.id) ?? []))
}

export function getConfig(ctx: ManagementContext, id: number): Promise<PluginConfigView> {
  return configView(ctx.pool, ctx.secrets, id)
}
