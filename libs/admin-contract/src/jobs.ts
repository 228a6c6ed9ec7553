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
