import type { PublicJobSpec } from '@plugin-server/admin-contract'
import { findPluginVersion } from '@plugin-server/db'
import { getConfig, getPlugin } from '@plugin-server/management'
import { JOB_HISTORY_LENGTH, readJobHistory } from '@plugin-server/plugin-runtime'
import { triggerJob } from '@plugin-server/scheduling'
import { readJsonObject } from '../http-io'
import { idParam, intQueryParam } from '../parse-input'
import { defineRoute } from './define-route'
import { Route } from './route'

/**
 * The job names in plugin.json's order: the version's recorded order, or for a version installed
 * before it was recorded (null), the stored object's key order, as before. Names the object has not
 * (or no longer) are dropped and any it has beyond the order are kept, last.
 */
function declaredOrder(publicJobs: Record<string, PublicJobSpec>, recorded: readonly string[] | null | undefined): string[] {
  const names = Object.keys(publicJobs)
  if (!recorded) return names
  const ordered = recorded.filter((name) => Object.hasOwn(publicJobs, name))
  return [...ordered, ...names.filter((name) => !ordered.includes(name))]
}

export const jobRoutes: Route[] = [
  defineRoute('GET /api/configs/:id/jobs', 'config', async ({ params, query, management }) => {
    const id = idParam(params.id, 'plugin config', 'id')
    const limit = intQueryParam(query, 'limit', 50, 1, JOB_HISTORY_LENGTH)
    const config = await getConfig(management, id)
    // The public jobs of the version the config runs (a pinned one may have others than the current version).
    const [version, jobs] = await Promise.all([
      findPluginVersion(management.pool, config.plugin_id, config.plugin_version),
      readJobHistory(management.redis, management.queuePrefix, id, limit),
    ])
    const pluginJson = version?.plugin_json ?? (await getPlugin(management, config.plugin_id)).plugin_json
    // plugin.json as the plugin wrote it: every part of a job spec is optional on the wire.
    const publicJobs = (pluginJson.publicJobs ?? {}) as Record<string, PublicJobSpec>
    const order = declaredOrder(publicJobs, version?.public_job_order)
    // The object's keys in that order too, for clients reading it (JSON keeps a text's key order).
    const ordered = Object.fromEntries(order.map((name) => [name, publicJobs[name]]))
    return { status: 200, body: { public_jobs: ordered, public_job_order: order, jobs } }
  }),
  defineRoute('POST /api/configs/:id/jobs/:name', 'config', async ({ req, params, management, services, maxBodyBytes, bodyHold }) => {
    const pluginConfigId = idParam(params.id, 'plugin config', 'id')
    const body = await readJsonObject(req, maxBodyBytes, bodyHold)
    // As the CLI: no payload is an empty object, which publicJobs then fills with defaults.
    const job = await triggerJob(management, { pluginConfigId, jobName: params.name, payload: body.payload ?? {} }, services.limits.plugins)
    return { status: 201, body: job }
  }),
]
