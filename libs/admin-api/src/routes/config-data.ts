import { getConfig, readLogs, readMetrics, setAttachment } from '@plugin-server/meta'
import { HttpError } from '../interfaces'
import { readBody } from '../http-io'
import { idParam } from '../parse-input'
import { Route } from './route'

function intQuery(query: URLSearchParams, key: string): number | undefined {
  const value = query.get(key)
  if (value === null || value === '') return undefined
  if (!/^\d+$/.test(value)) throw new HttpError(400, 'validation_error', `${key} must be a non-negative integer`, key)
  return Number(value)
}

function listQuery(query: URLSearchParams, key: string): string[] | undefined {
  const values = query.getAll(key).filter((v) => v !== '')
  return values.length > 0 ? values : undefined
}

export const configDataRoutes: Route[] = [
  {
    method: 'PUT',
    pattern: '/api/configs/:id/attachments/:key',
    access: 'config',
    handler: async ({ req, params, management, maxBodyBytes }) => {
      const id = idParam(params.id, 'plugin config')
      const contents = await readBody(req, maxBodyBytes)
      const header = req.headers['x-file-name']
      const fileName = (Array.isArray(header) ? header[0] : header) ?? params.key
      const contentType = (req.headers['content-type'] ?? 'application/octet-stream').split(';')[0].trim()
      const view = await setAttachment(management, id, { key: params.key, file_name: fileName, content_type: contentType, contents })
      return { status: 200, body: view }
    },
  },
  {
    method: 'GET',
    pattern: '/api/configs/:id/logs',
    access: 'config',
    handler: async ({ params, query, management }) => {
      const rows = await readLogs(management, idParam(params.id, 'plugin config'), {
        levels: listQuery(query, 'level'),
        sources: listQuery(query, 'source'),
        afterId: intQuery(query, 'after'),
        search: query.get('search') ?? undefined,
        limit: intQuery(query, 'limit'),
      })
      return { status: 200, body: rows }
    },
  },
  {
    method: 'GET',
    pattern: '/api/configs/:id/metrics',
    access: 'config',
    handler: async ({ params, management }) => {
      const id = idParam(params.id, 'plugin config')
      await getConfig(management, id)
      return { status: 200, body: { plugin_config_id: id, metrics: await readMetrics(management.redis, management.queuePrefix, id) } }
    },
  },
]
