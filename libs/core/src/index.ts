export { ROLES } from './interfaces'
export type { IngestEvent, IngestBatch, Role, PluginJobData, ExportBatch } from './interfaces'
export { loadConfig, ConfigError } from './config'
export type { Config } from './config'
export { createLogger } from './logger'
export type { Logger } from './logger'
export { createRedis, isRedisRefusal } from './redis'
export { createPool, Pool } from './postgres'
export { registerPostgresPoolMetrics } from './postgres-pool-metrics'
export {
  createQueue,
  createWorker,
  createIngestQueue,
  createPluginJobsQueue,
  createExportQueue,
  failedForGood,
  FAILED_INGEST_JOB_KEPT_SECONDS,
  QUEUES,
  PLUGIN_JOB_BACKOFF,
  scheduledShardQueue,
} from './queues'
export type { QueueName, ScheduledShardQueueName } from './queues'
export { cutFailureText, pluginJobReservedBytes, PLUGIN_JOB_FAILURE_MAX_BYTES } from './plugin-job-failure'
export type { Closer } from './shutdown'
export { startHealthServer } from './health-server'
export type { ReadinessCheck } from './health-server'
export { runRole } from './role-runtime'
export { assertJobData } from './assert-job-data'
export { superviseWorker, WORKER_BACKOFF } from './worker-backoff'
export type { WorkerBackoff } from './worker-backoff'
export { evictionPolicyProblem, readEvictionPolicy, REQUIRED_EVICTION_POLICY, watchEvictionPolicy } from './redis-eviction-policy'
export type { RoleContext, RunningRole } from './role-runtime'
export { withTimeout } from './with-timeout'
export { withPersonUpdates } from './with-person-updates'
export { BodyBudget } from './body-budget'
export type { BodyHold } from './body-budget'
export { sharedScrape } from './shared-scrape'
export { removeSeries } from './remove-series'
export { doublingDelayMs, postpone, putBackDelayMs } from './postpone'
export { KeyedInterval } from './keyed-interval'
export { SlotCounts } from './slot-counts'
export { StuckSlots } from './stuck-slots'
export type { StuckSlotsOptions } from './stuck-slots'
export { addPluginJob, pluginJobStarted, rankPluginJobAgain } from './plugin-job-line'
export { publishReload, subscribeReload } from './reload'
export type { ReloadMessage } from './reload'
export { EventBatcher } from './event-batcher'
export type { BatcherLimits } from './event-batcher'
export { QueueBacklogError } from './queue-backlog-error'
export { toPostgresJson, toPostgresText } from './strip-nul'
export { readQueueDepths, registerQueueDepthMetrics, MONITORED_QUEUES, monitoredQueues } from './queue-depth-metrics'
export { redisKeys, SCHEDULER_TASKS, schedulerChainId } from './redis-keys'
export { forgetPluginMetrics } from './forget-plugin-metrics'
export { forgetPluginRedisKeys } from './forget-plugin-redis-keys'
export { forgetExportState } from './forget-export-state'
export { forgetTeamRedisState } from './forget-team-redis-state'
export {
  jobsData,
  jobsExist,
  deduplicationJobIds,
  dropDeduplicatedSuccessor,
  hasDeduplicatedSuccessor,
  setWorkerConcurrency,
  BULLMQ_INTERNALS_VERSION,
  BULLMQ_JOB_FINISHED_FIELD,
  bullmqKeys,
} from './bullmq-internals'
export { observeQueueWorker } from './queue-worker-metrics'
export { parseSecretKeys, SECRET_KEY_ID, SECRETS_KEYS_VARIABLE } from './secret-keys'
export type { SecretKey } from './secret-keys'
export { installFatalHandlers } from './fatal-errors'
export { GLIBC_MALLOC_TUNABLES } from './malloc-tunables'
export { EARLIEST_STORABLE_TIME, isStorableTime, LATEST_STORABLE_TIME } from './storable-timestamp'
export { jsonNestedDeeperThan, MAX_EVENT_DEPTH } from './event-depth'
export { parseDate } from './parse-date'
export { withoutTrailingSlashes } from './without-trailing-slashes'
export { bodyTimeouts } from './body-timeouts'
export { MAX_PROJECT_TOKEN_LENGTH, newTeamTokenProblem, projectTokenProblem } from './project-token'
export {
  jobTeams,
  listFailedJobs,
  MAX_FAILED_LISTED,
  MAX_FAILED_SCANNED_PER_STEP,
  RETRYABLE_FAILED_QUEUES,
  retryableFailedQueue,
  retryFailedStep,
} from './failed-jobs'
export type { FailedQueue, FailedJobSummary, FailedJobsListing, RetryFailedOptions, RetryFailedStep, RetryableFailedQueue } from './failed-jobs'
