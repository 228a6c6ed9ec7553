import { findPluginVersion } from '@plugin-server/db'
import { getConfig, getPlugin, JOB_HISTORY_LENGTH, readJobHistory } from '@plugin-server/meta'
import { triggerJob } from '@plugin-server/scheduling'
import { readJsonObject } from '../http-io'
import { idParam, intQueryParam } from '../parse-input'
import { Route } from './route'

export const jobRoutes: Route[] = [
  {
    method: 'GET',
    pattern: '/api/configs/:id/jobs',
    access: 'config',
    handler: async ({ params, query, management }) => {
      const id = idParam(params.id, 'plugin config')
      const limit = intQueryParam(query, 'limit', 50, 1, JOB_HISTORY_LENGTH)
      const config = await getConfig(management, id)
      // The public jobs of the version the config runs (a pinned one may have others than the current version).
      const [version, jobs] = await Promise.all([
        findPluginVersion(management.pool, config.plugin_id, config.plugin_version),
        readJobHistory(management.redis, management.queuePrefix, id, limit),
      ])
      const pluginJson = version?.plugin_json ?? (await getPlugin(management, config.plugin_id)).plugin_json
      return { status: 200, body: { public_jobs: pluginJson.publicJobs ?? {}, jobs } }
    },
  },
  {
    method: 'POST',
    pattern: '/api/configs/:id/jobs/:name',
    access: 'config',
    handler: async ({ req, params, management, maxBodyBytes }) => {
      const pluginConfigId = idParam(params.id, 'plugin config')
      const body = await readJsonObject(req, maxBodyBytes)
      // As the CLI: no payload is an empty object, which publicJobs then fills with defaults.
      const job = await triggerJob(management, { pluginConfigId, jobName: params.name, payload: body.payload ?? {} })
      return { status: 201, body: job }
    },
  },
]
