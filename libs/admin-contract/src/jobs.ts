import type { PublicJobSpec } from './plugins'

export type JobState = 'queued' | 'running' | 'retrying' | 'completed' | 'failed'

export interface JobView {
  id: string | number
  name: string
  payload: unknown
  state: JobState
  attempts: number | null
  enqueued_at: string | null
  started_at: string | null
  finished_at: string | null
  duration_ms: number | null
  error: string | null
}

export interface JobsView {
  public_jobs: Record<string, PublicJobSpec>
  /**
   * The names of `public_jobs` in the order plugin.json declares them (the first is the one to offer
   * first); an object's key order does not survive storage, so read the order from here.
   */
  public_job_order: string[]
  jobs: JobView[]
}

export interface TriggerJobInput {
  payload?: Record<string, unknown>
}

export interface TriggeredJob {
  jobId: string | number
  pluginConfigId: number
  teamId: number
  name: string
  payload: unknown
}
