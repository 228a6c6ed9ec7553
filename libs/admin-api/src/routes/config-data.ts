import { findPluginConfigTeam } from '@plugin-server/db'
import { getConfig, readLogs, setAttachment } from '@plugin-server/management'
import { readMetrics } from '@plugin-server/plugin-runtime'
import { HttpError } from '../interfaces'
import { readBody } from '../http-io'
import { idParam } from '../parse-input'
import { waitForLogs } from '../wait-for-logs'
import { defineRoute } from './define-route'
import { Route } from './route'

/** Longer than most proxies hold an idle request would only turn waits into gateway errors. */
const MAX_WAIT_SECONDS = 30

function intQuery(query: URLSearchParams, key: string): number | undefined {
  const value = query.get(key)
  if (value === null || value === '') return undefined
  if (!/^\d+$/.test(value)) throw new HttpError(400, 'validation_error', `${key} must be a non-negative integer`, key)
  // Log ids are bigints, but never past what a JavaScript number holds exactly.
  if (value.length > 15) throw new HttpError(400, 'validation_error', `${key} must be at most 999999999999999`, key)
  return Number(value)
}

function listQuery(query: URLSearchParams, key: string): string[] | undefined {
  const values = query.getAll(key).filter((v) => v !== '')
  return values.length > 0 ? values : undefined
}

export const configDataRoutes: Route[] = [
  defineRoute('PUT /api/configs/:id/attachments/:key', 'config', async ({ req, params, management, maxBodyBytes, bodyHold }) => {
    const id = idParam(params.id, 'plugin config', 'id')
    const contents = await readBody(req, maxBodyBytes, bodyHold)
    const header = req.headers['x-file-name']
    const fileName = (Array.isArray(header) ? header[0] : header) ?? params.key
    const contentType = (req.headers['content-type'] ?? 'application/octet-stream').split(';')[0].trim()
    const view = await setAttachment(management, id, { key: params.key, file_name: fileName, content_type: contentType, contents })
    return { status: 200, body: view }
  }),
  defineRoute('GET /api/configs/:id/logs', 'config', async ({ req, params, query, management, services, principal }) => {
    const id = idParam(params.id, 'plugin config', 'id')
    const logQuery = {
      levels: listQuery(query, 'level'),
      sources: listQuery(query, 'source'),
      afterId: intQuery(query, 'after'),
      search: query.get('search') ?? undefined,
      limit: intQuery(query, 'limit'),
    }
    const wait = intQuery(query, 'wait')
    if (wait === undefined || wait === 0) return { status: 200, body: await readLogs(management, id, logQuery) }
    if (wait > MAX_WAIT_SECONDS) throw new HttpError(400, 'validation_error', `wait must be at most ${MAX_WAIT_SECONDS} (seconds)`, 'wait')
    const { afterId } = logQuery
    if (afterId === undefined) throw new HttpError(400, 'validation_error', 'wait needs after=<id>: it waits for rows after that one', 'wait')
    // The share is the config's team's, whoever asks: the operator following a team's logs counts there too.
    const teamId = principal.kind === 'team' ? principal.teamId : await findPluginConfigTeam(management.pool, id)
    if (teamId === null) throw new HttpError(404, 'not_found', `plugin config ${id} not found`)
    return { status: 200, body: await waitForLogs(req, management, services.logTail, teamId, id, { ...logQuery, afterId }, wait * 1000) }
  }),
  defineRoute('GET /api/configs/:id/metrics', 'config', async ({ params, management }) => {
    const id = idParam(params.id, 'plugin config', 'id')
    await getConfig(management, id)
    return { status: 200, body: { plugin_config_id: id, metrics: await readMetrics(management.redis, management.queuePrefix, id) } }
  }),
]
