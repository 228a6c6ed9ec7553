/**
 * Every Redis key (and the pub/sub channel) the fleet builds itself, in one shape:
 * `${prefix}:<area>:<...parts>`. The prefix is the queue prefix, whose {hash tag} puts every key in one
 * Redis Cluster slot, so Lua scripts may touch several at once and dropping a test prefix drops them all.
 *
 * The strings are those a deployed fleet already wrote: changing one makes its data unreadable, so
 * test/src/core/redis-keys.test.ts pins each. Keys BullMQ builds itself are in bullmq-internals.ts.
 */
export const redisKeys = (prefix: string) => ({
  /** libs/export: the exporters' buffers, in-flight flushes and pending deliveries. */
  export: {
    /** LIST of serialized events of a config's exportEvents buffer, oldest first. */
    buffer: (configId: number) => `${prefix}:export:buffer:${configId}`,
    /** STRING bytes in the buffer. */
    bufferBytes: (configId: number) => `${prefix}:export:buffer-bytes:${configId}`,
    /** ZSET of configs with buffered events, scored by when their oldest buffered event arrived. */
    buffered: () => `${prefix}:export:buffered`,
    /** HASH `team` / `events`: the config's buffered events counted in its team's and the fleet's buffered totals (given back by the flush that takes them). */
    bufferCounted: (configId: number) => `${prefix}:export:buffer-counted:${configId}`,
    /** STRING events in the buffers of the team's configs (counted against EXPORT_TEAM_MAX_PENDING_EVENTS with its pending ones). With '': what every team's key starts with. */
    teamBufferedEvents: (teamId: number | '') => `${prefix}:export:team-buffered-events:${teamId}`,
    /** STRING events in every config's buffer (counted against EXPORT_FLEET_MAX_PENDING_EVENTS with the pending ones). */
    fleetBufferedEvents: () => `${prefix}:export:fleet-buffered-events`,
    /** LIST of events taken from the buffer whose delivery job may not exist yet; finished or taken over by the next flush. */
    flushing: (configId: number) => `${prefix}:export:flushing:${configId}`,
    /** STRING id of the flush in progress. */
    flushingId: (configId: number) => `${prefix}:export:flushing-id:${configId}`,
    /** ZSET of configs with a flush in progress, scored by when it started: a stale one is finished by another exporter. */
    flushingSince: () => `${prefix}:export:flushing-since`,
    /** STRING with a TTL marking an ingest hand-off as buffered for a config (`1`), or spilled past a limit (`config` / `team` / `fleet`), so a redelivered hand-off is not buffered twice. */
    appended: (configId: number, handoffId: string) => `${prefix}:export:appended:${configId}:${handoffId}`,
    /** ZSET of delivery jobs not finished yet, scored by when they were enqueued (oldest pending batch). */
    pending: (configId: number) => `${prefix}:export:pending:${configId}`,
    /** ZSET of delivery jobs waiting for a retry. */
    retrying: (configId: number) => `${prefix}:export:retrying:${configId}`,
    /** HASH delivery job id → its events, for the config's jobs not finished yet (EXPORT_MAX_PENDING_EVENTS). */
    pendingEvents: (configId: number | '') => `${prefix}:export:pending-events:${configId}`,
    /** STRING events of the config's delivery jobs not finished yet. Both with '': what every config's key starts with (for a script that finds one by id). */
    pendingEventsTotal: (configId: number | '') => `${prefix}:export:pending-events-total:${configId}`,
    /** HASH delivery job id → `<events>:<ms admitted>:<config id>`, for the team's jobs not finished yet (EXPORT_TEAM_MAX_PENDING_EVENTS). */
    teamPendingEvents: (teamId: number | '') => `${prefix}:export:team-pending-events:${teamId}`,
    /** STRING events of the team's delivery jobs not finished yet. Both with '': what every team's key starts with. */
    teamPendingEventsTotal: (teamId: number | '') => `${prefix}:export:team-pending-events-total:${teamId}`,
    /** HASH delivery job id → `<events>:<ms admitted>:<config id>:<team id>`, for every team's jobs not finished yet (EXPORT_FLEET_MAX_PENDING_EVENTS). */
    fleetPendingEvents: () => `${prefix}:export:fleet-pending-events`,
    /** STRING events of every team's delivery jobs not finished yet. */
    fleetPendingEventsTotal: () => `${prefix}:export:fleet-pending-events-total`,
    /** STRING with a 10 s TTL: the counted jobs of a config, a team or the fleet were just looked at for lost counts. */
    pendingRechecked: (scope: `config:${number}` | `team:${number}` | 'fleet') => `${prefix}:export:pending-rechecked:${scope}`,
    /** HASH delivery job id → `<ms spilled>.<1|2|3>`, a number (the limit that spilled it: config, team, fleet); kept an hour: a re-add is spilled again. */
    spilled: (configId: number) => `${prefix}:export:spilled:${configId}`,
    /** SET of the numbers of a historical run's finished pages (each counted once, however often it is delivered). */
    historicalDone: (runId: number) => `${prefix}:export:historical-done:${runId}`,
    /** HASH `exported` / `failed` event counts of a historical run (failed ones kept as a dead letter). */
    historicalCounts: (runId: number) => `${prefix}:export:historical-counts:${runId}`,
  },
  /** HASH metric name → count of what happened to a config's exports in one minute (epoch minutes); 25 h TTL; libs/export. */
  exportSeries: (configId: number, epochMinute: number) => `${prefix}:export-series:${configId}:${epochMinute}`,
  /** libs/scheduling: what the timekeeper keeps next to BullMQ's own keys. */
  scheduler: {
    /** SET of chain ids the reconciler created: what it must remove when a config goes away. */
    chains: () => `${prefix}:scheduler:chains`,
    /** HASH chain id → epoch ms of the end of its last run: where a re-created chain resumes. */
    lastFinish: () => `${prefix}:scheduler:last-finish`,
    /** STRING job id of the run in progress, with a TTL: how overlaps are detected. */
    running: (chain: string) => `${prefix}:scheduler:running:${chain}`,
    /** LIST of the chain's last runs, newest first (JSON TaskRunRecord), capped and expiring: the admin API's history. */
    runs: (chain: string) => `${prefix}:scheduler:runs:${chain}`,
    /** ZSET replica id → Redis time (ms) of its last heartbeat: who shares the shards (SCHEDULER_SHARDS > 1). */
    replicas: () => `${prefix}:scheduler:replicas`,
  },
  /** HASH of counts and call-time histogram buckets for a config's processEvent in one minute (epoch minutes); libs/plugin-runtime. */
  processingSeries: (configId: number, epochMinute: number) => `${prefix}:processing-series:${configId}:${epochMinute}`,
  /** HASH metric name → sum of a config's plugin metrics (createMetrics); libs/plugin-runtime. */
  pluginMetrics: (configId: number) => `${prefix}:plugin-metrics:${configId}`,
  /** SET of config ids with plugin metrics. */
  pluginMetricsConfigs: () => `${prefix}:plugin-metrics-configs`,
  /** STRING counter a plugin's storage cursor (createCursor / incrementCursor) keeps under its own name; libs/plugin-runtime. */
  cursor: (configId: number, name: string) => `${prefix}:cursor:${configId}:${name}`,
  /** STRING value of a plugin's cache under its own key, per plugin and team, with the plugin's TTL if any; libs/plugin-runtime. */
  cache: (pluginId: number, teamId: number, key: string) => `${prefix}:cache:${pluginId}:${teamId}:${key}`,
  /** What every `cache` key starts with, for the scans that look for a team's keys of every plugin (libs/management). */
  cacheHead: () => `${prefix}:cache:`,
  /** What a team's plugins hold in Redis, its cache keys and its jobs, kept by the scripts every such write goes through (PLUGIN_TEAM_REDIS_LIMIT_MB); libs/plugin-runtime redis-account-scripts.ts. */
  /** STRING bytes every team's plugins hold in Redis together: the teams' totals summed (PLUGIN_REDIS_LIMIT_MB). */
  pluginRedisFleetTotal: () => `${prefix}:redis-account:fleet-total`,
  pluginRedisAccount: (teamId: number) => ({
    /** HASH cache key or job key → bytes it is accounted at. */
    sizes: `${prefix}:redis-account:${teamId}:sizes`,
    /** ZSET cache key → epoch ms it expires at, for those with a TTL. */
    expiries: `${prefix}:redis-account:${teamId}:expiries`,
    /** ZSET job key → epoch ms to look again whether BullMQ still holds the job. */
    checks: `${prefix}:redis-account:${teamId}:checks`,
    /** STRING bytes the team's keys and jobs hold together. */
    total: `${prefix}:redis-account:${teamId}:total`,
  }),
  /** ZSET plugin job id → epoch ms it is due, for a team's jobs not started yet: their rank in the `jobs` queue; libs/core plugin-job-line.ts. */
  pluginJobsWaiting: (teamId: number) => `${prefix}:plugin-jobs-waiting:${teamId}`,
  /** HASH instance id → setup state of a config on each worker instance; libs/plugin-runtime. */
  setupState: (configId: number) => `${prefix}:setup-state:${configId}`,
  /** ZSET of a config's plugin job runs by time (the order of the history); libs/plugin-runtime. */
  jobRuns: (configId: number) => `${prefix}:job-runs:${configId}`,
  /** HASH run id → JSON record of those runs. */
  jobRunsData: (configId: number) => `${prefix}:job-runs:${configId}:data`,
  /** ZSET of a config's recent limit breaches in the breaker's window; libs/plugin-runtime. */
  pluginBreaches: (configId: number) => `${prefix}:plugin-breaches:${configId}`,
  /** Pub/sub channel (not a key) of ReloadMessage JSON that every worker subscribes to; libs/core reload.ts. */
  reloadChannel: () => `${prefix}:plugin-reload`,
})

export type RedisKeys = ReturnType<typeof redisKeys>

/** The `runEvery*` tasks a config may have a scheduler chain for (libs/scheduling). */
export const SCHEDULER_TASKS = ['runEveryMinute', 'runEveryHour', 'runEveryDay'] as const

/** Deduplication id of a config's chain for a task: BullMQ puts it in key names, so no ':' (and never all digits). */
export function schedulerChainId(pluginConfigId: number, task: (typeof SCHEDULER_TASKS)[number]): string {
  return `chain-${pluginConfigId}-${task}`
}
