import { EXPORT_SERIES_MAX_MINUTES, readExportSeries } from '@plugin-server/export'
import { getConfig, listConfigs } from '@plugin-server/management'
import { PROCESSING_SERIES_MAX_MINUTES, readProcessingCounts, readProcessingSeries } from '@plugin-server/plugin-runtime'
import { configStatusView } from '../config-status-view'
import { idParam, intQueryParam } from '../parse-input'
import { defineRoute } from './define-route'
import { Route } from './route'

export const configStatusRoutes: Route[] = [
  defineRoute('GET /api/configs/:id/status', 'config', async (ctx) => ({
    status: 200,
    body: await configStatusView(ctx, idParam(ctx.params.id, 'plugin config', 'id')),
  })),
  defineRoute('GET /api/configs/:id/export-series', 'config', async ({ params, query, management }) => {
    const id = idParam(params.id, 'plugin config', 'id')
    const minutes = intQueryParam(query, 'minutes', 60, 1, EXPORT_SERIES_MAX_MINUTES)
    await getConfig(management, id)
    return { status: 200, body: await readExportSeries(management.redis, management.queuePrefix, id, minutes) }
  }),
  defineRoute('GET /api/configs/:id/processing-series', 'config', async ({ params, query, management }) => {
    const id = idParam(params.id, 'plugin config', 'id')
    const minutes = intQueryParam(query, 'minutes', 60, 1, PROCESSING_SERIES_MAX_MINUTES)
    await getConfig(management, id)
    return { status: 200, body: await readProcessingSeries(management.redis, management.queuePrefix, id, minutes) }
  }),
  defineRoute('GET /api/teams/:teamId/configs/health', 'team', async ({ params, query, management }) => {
    const teamId = idParam(params.teamId, 'team', 'teamId')
    const minutes = intQueryParam(query, 'minutes', 60, 1, PROCESSING_SERIES_MAX_MINUTES)
    const ids = (await listConfigs(management, teamId)).map((c) => c.id)
    const counts = await readProcessingCounts(management.redis, management.queuePrefix, ids, minutes)
    return { status: 200, body: { minutes, configs: ids.map((id) => ({ id, ...counts.get(id)! })) } }
  }),
]
