import { EXPORT_SERIES_MAX_MINUTES, readExportSeries } from '@plugin-server/export'
import { getConfig } from '@plugin-server/meta'
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
]
