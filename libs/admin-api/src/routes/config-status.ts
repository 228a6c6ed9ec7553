import { EXPORT_SERIES_MAX_MINUTES, readExportSeries } from '@plugin-server/export'
import { getConfig, listConfigs, PROCESSING_SERIES_MAX_MINUTES, readProcessingCounts, readProcessingSeries } from '@plugin-server/meta'
import { configStatusView } from '../config-status-view'
import { idParam, intQueryParam } from '../parse-input'
import { Route } from './route'

export const configStatusRoutes: Route[] = [
  {
    method: 'GET',
    pattern: '/api/configs/:id/status',
    access: 'config',
    handler: async (ctx) => ({ status: 200, body: await configStatusView(ctx, idParam(ctx.params.id, 'plugin config')) }),
  },
  {
    method: 'GET',
    pattern: '/api/configs/:id/export-series',
    access: 'config',
    handler: async ({ params, query, management }) => {
      const id = idParam(params.id, 'plugin config')
      const minutes = intQueryParam(query, 'minutes', 60, 1, EXPORT_SERIES_MAX_MINUTES)
      await getConfig(management, id)
      return { status: 200, body: await readExportSeries(management.redis, management.queuePrefix, id, minutes) }
    },
  },
  {
    method: 'GET',
    pattern: '/api/configs/:id/processing-series',
    access: 'config',
    handler: async ({ params, query, management }) => {
      const id = idParam(params.id, 'plugin config')
      const minutes = intQueryParam(query, 'minutes', 60, 1, PROCESSING_SERIES_MAX_MINUTES)
      await getConfig(management, id)
      return { status: 200, body: await readProcessingSeries(management.redis, management.queuePrefix, id, minutes) }
    },
  },
  {
    method: 'GET',
    pattern: '/api/teams/:teamId/configs/health',
    access: 'team',
    handler: async ({ params, query, management }) => {
      const teamId = idParam(params.teamId, 'team')
      const minutes = intQueryParam(query, 'minutes', 60, 1, PROCESSING_SERIES_MAX_MINUTES)
      const ids = (await listConfigs(management, teamId)).map((c) => c.id)
      const counts = await readProcessingCounts(management.redis, management.queuePrefix, ids, minutes)
      return { status: 200, body: { minutes, configs: ids.map((id) => ({ id, ...counts.get(id)! })) } }
    },
  },
]
