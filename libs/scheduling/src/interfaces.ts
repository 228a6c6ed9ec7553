import { SCHEDULER_TASKS } from '@plugin-server/core'
import type { PluginMethodName } from '@plugin-server/plugin-vm'

/** The `runEvery*` methods a plugin may export; each enabled config gets one chain per method it exports. */
export type ScheduledTask = Extract<PluginMethodName, 'runEveryMinute' | 'runEveryHour' | 'runEveryDay'>

export const SCHEDULED_TASKS: readonly ScheduledTask[] = SCHEDULER_TASKS

/** One run of one task of one config, as stored in the `scheduled` queue. */
export interface ScheduledTaskData {
  teamId: number
  pluginConfigId: number
  task: ScheduledTask
  /** When this run is due (epoch ms, on the chain's TaskSchedule); absent in runs queued by versions before due times. */
  dueAt?: number
}

/** What the scheduler and job-worker read from the environment on top of the core config. */
export interface SchedulingConfig {
  /** Lease of a running task: a crashed holder's run is taken over this long after its last renewal. */
  schedulerLockDurationMs: number
  /** How often an idle replica looks for runs whose holder died; a quarter of the lease. */
  schedulerStalledIntervalMs: number
  /** How often every scheduler replica checks that each enabled config has its chains. */
  schedulerReconcileIntervalMs: number
  /** Tasks one scheduler replica runs at once (different configs or tasks; never the same chain twice). */
  schedulerConcurrency: number
  /** Of those, at most this many runs of one team's configs at once. */
  schedulerTeamConcurrency: number
  /** A run going on this long is stuck and stops counting against schedulerConcurrency ... */
  schedulerStuckAfterMs: number
  /** ... up to this many such runs at once (extra slots, shared by the shards a replica owns as the slots are). */
  schedulerStuckExtraSlots: number
  /** Queues the chains are spread over (config id mod shards); with more than one, each replica works only the shards it owns. */
  schedulerShards: number
  jobWorkerConcurrency: number
  /** Of those, at most this many jobs of one team's configs at once. */
  jobWorkerTeamConcurrency: number
  /** A job running this long is stuck and stops counting against jobWorkerConcurrency ... */
  jobWorkerStuckAfterMs: number
  /** ... up to this many such jobs at once (extra slots). */
  jobWorkerStuckExtraSlots: number
  jobWorkerLockDurationMs: number
}

/** PostHog's `publicJobs` field types (the UI's JobPayloadFieldOptions). */
export type JobPayloadFieldType = 'string' | 'number' | 'boolean' | 'date' | 'daterange' | 'json'

export interface JobPayloadField {
  type: JobPayloadFieldType
  title?: string
  required?: boolean
  default?: unknown
  staff_only?: boolean
}

/** `plugin.json` → `publicJobs.<jobName>`. */
export interface PublicJobSpec {
  payload?: Record<string, JobPayloadField>
}

export interface TriggerJobInput {
  pluginConfigId: number
  jobName: string
  /** Parsed JSON; validated against `publicJobs` when the plugin declares it. */
  payload: unknown
}

export interface TriggeredJob {
  jobId: string
  pluginConfigId: number
  teamId: number
  name: string
  payload: unknown
}
