import { createPluginJobsQueue, PluginJobData } from '@plugin-server/core'
import { readConfigCapabilities } from '@plugin-server/db'
import { JobHistory, ManagementContext, ManagementError } from '@plugin-server/meta'
import type { TriggeredJob, TriggerJobInput } from './interfaces'
import { validateJobPayload } from './validate-job-payload'

/**
 * Runs a plugin job by hand (`plugin-server job trigger`): the same queue entry as
 * `meta.jobs.<name>(payload).runNow()`, so it retries and logs like any other job.
 */
export async function triggerJob(ctx: ManagementContext, input: TriggerJobInput): Promise<TriggeredJob> {
  const { rows } = await ctx.pool.query<{ team_id: number; enabled: boolean; name: string; plugin_json: Record<string, unknown> }>(
    // A pinned config's jobs are those of its version's plugin.json.
    `SELECT c.team_id, c.enabled, p.name, COALESCE(v.plugin_json, p.plugin_json) AS plugin_json FROM plugin_configs c JOIN plugins p ON p.id = c.plugin_id
     LEFT JOIN plugin_versions v ON v.plugin_id = c.plugin_id AND v.version = c.pinned_version WHERE c.id = $1`,
    [input.pluginConfigId],
  )
  if (rows.length === 0) throw new ManagementError('not_found', `plugin config ${input.pluginConfigId} not found`)
  const row = rows[0]
  if (!row.enabled) throw new ManagementError('conflict', `plugin config ${input.pluginConfigId} is disabled: enable it first (its jobs would be dropped)`)
  const payload = validateJobPayload(row.name, row.plugin_json.publicJobs, input.jobName, input.payload)
  // Without publicJobs any name passes the check above; what the version exports says whether a job-worker could run it.
  const capabilities = await readConfigCapabilities(ctx.pool, input.pluginConfigId)
  if (capabilities && !capabilities.jobs.includes(input.jobName))
    throw new ManagementError('validation_error', `plugin ${row.name} exports no job "${input.jobName}" (jobs: ${capabilities.jobs.join(', ') || 'none'})`)
  const data: PluginJobData = { teamId: row.team_id, pluginConfigId: input.pluginConfigId, name: input.jobName, payload, enqueuedAt: new Date().toISOString() }
  const queue = createPluginJobsQueue(ctx.redis, { queuePrefix: ctx.queuePrefix })
  try {
    const job = await queue.add(input.jobName, data)
    ctx.logger.info({ pluginConfigId: input.pluginConfigId, job: input.jobName, jobId: job.id }, 'plugin job triggered')
    // The payload came from whoever triggered the job, not from the config's secrets: recorded as given.
    const history = new JobHistory(ctx.redis, ctx.queuePrefix, (err) =>
      ctx.logger.warn({ pluginConfigId: input.pluginConfigId, err: err.message }, 'triggered job not recorded in the job history'),
    )
    if (job.id) await history.queued({ ...data, jobId: job.id, secrets: [] })
    return { jobId: job.id ?? '', pluginConfigId: input.pluginConfigId, teamId: row.team_id, name: input.jobName, payload }
  } finally {
    await queue.close()
  }
}
