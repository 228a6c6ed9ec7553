import { randomUUID } from 'node:crypto'
import { addPluginJob, createPluginJobsQueue, PluginJobData } from '@plugin-server/core'
import { findPluginConfigJobTarget, readConfigCapabilities } from '@plugin-server/db'
import { JobHistory, TeamRedisAccount } from '@plugin-server/plugin-runtime'
import { ManagementContext, ManagementError } from '@plugin-server/management'
import type { TriggeredJob, TriggerJobInput } from './interfaces'
import { validateJobPayload } from './validate-job-payload'

/** The limits a job triggered by hand is held to, as the plugin's own `meta.jobs` are (PLUGIN_TEAM_REDIS_LIMIT_MB, PLUGIN_REDIS_LIMIT_MB, PLUGIN_JOB_MAX_PAYLOAD_BYTES). */
export interface JobRedisLimits {
  teamRedisLimitMb: number
  redisLimitMb: number
  jobMaxPayloadBytes: number
}

/**
 * Runs a plugin job by hand (`plugin-server job trigger`): the same queue entry as
 * `meta.jobs.<name>(payload).runNow()`, so it retries and logs like any other job — and, like
 * it, is held in the team's Redis account first: a team's token could otherwise put payloads of
 * the API's body limit into the Redis every team shares, as often as it liked.
 */
export async function triggerJob(ctx: ManagementContext, input: TriggerJobInput, limits: JobRedisLimits): Promise<TriggeredJob> {
  const row = await findPluginConfigJobTarget<Record<string, unknown>>(ctx.pool, input.pluginConfigId)
  if (!row) throw new ManagementError('not_found', `plugin config ${input.pluginConfigId} not found`)
  if (!row.enabled) throw new ManagementError('conflict', `plugin config ${input.pluginConfigId} is disabled: enable it first (its jobs would be dropped)`)
  const payload = validateJobPayload(row.name, row.plugin_json.publicJobs, input.jobName, input.payload)
  // Each job-worker that runs it parses it, records it in the job history and copies it into an isolate: a token's
  // 50 MB body there held the worker every team's jobs run in. A plugin's own jobs are held to the same bound.
  const bytes = Buffer.byteLength(JSON.stringify(payload) ?? 'null')
  if (bytes > limits.jobMaxPayloadBytes)
    throw new ManagementError(
      'validation_error',
      `the payload of job "${input.jobName}" is ${bytes} bytes, more than the ${limits.jobMaxPayloadBytes} a job may carry (PLUGIN_JOB_MAX_PAYLOAD_BYTES)`,
      'payload',
    )
  // Without publicJobs any name passes the check above; what the version exports says whether a job-worker could run it.
  const capabilities = await readConfigCapabilities(ctx.pool, input.pluginConfigId)
  if (capabilities && !capabilities.jobs.includes(input.jobName))
    throw new ManagementError('validation_error', `plugin ${row.name} exports no job "${input.jobName}" (jobs: ${capabilities.jobs.join(', ') || 'none'})`)
  const data: PluginJobData = { teamId: row.team_id, pluginConfigId: input.pluginConfigId, name: input.jobName, payload, enqueuedAt: new Date().toISOString() }
  const queue = createPluginJobsQueue(ctx.redis, { queuePrefix: ctx.queuePrefix })
  try {
    const jobId = randomUUID()
    const mb = 1024 * 1024
    const account = new TeamRedisAccount(ctx.redis, ctx.queuePrefix, row.team_id, limits.teamRedisLimitMb * mb, { fleetLimitBytes: limits.redisLimitMb * mb })
    try {
      await account.reserveJob(queue.toKey(jobId), data, `jobs.${input.jobName}`)
    } catch (error) {
      throw new ManagementError('conflict', (error as Error).message)
    }
    const job = await addPluginJob(queue, ctx.redis, ctx.queuePrefix, data, { delay: 0, jobId })
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
