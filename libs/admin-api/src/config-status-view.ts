import { readVersionCapabilities, versionKey } from '@plugin-server/db'
import { EXPORTING_METHODS, exportStatus, ExportCounts, ExportStatus } from '@plugin-server/export'
import { FleetSetupState, ProcessingSummary, readProcessingSeries, readSetupState } from '@plugin-server/plugin-runtime'
import { getConfig, PluginConfigView, PluginLogRow, readLogs } from '@plugin-server/management'
import { readScheduledTasks, ScheduledTaskView } from '@plugin-server/scheduling'
import type { RouteContext } from './routes/route'

export interface SetupView {
  status: FleetSetupState['status']
  attempts: number
  next_attempt_at: string | null
  last_error: string | null
  /** Null while no process has loaded the config. */
  updated_at: string | null
}

export interface ConfigStatusView {
  config: PluginConfigView
  setup: SetupView
  last_error: { message: string; time: string } | null
  disabled_reason: string | null
  export: {
    metrics: ExportCounts
    buffer: ExportStatus['buffer']
    pending_batches: number
    retries_in_flight: number
    dead_letters: ExportStatus['deadLetters']
  }
  plugin_metrics: Record<string, number>
  scheduled: ScheduledTaskView[]
  /** What the config's processEvent did in the last hour, fleet-wide (all zeros when the plugin has no processEvent). */
  processing: ProcessingSummary
  /** The methods the config's plugin version exports (recorded at install, or as a worker that loaded it saw them); null while unknown. */
  methods: string[] | null
  /** Whether the plugin exports events (exportEvents, onEvent, onSnapshot, composeWebhook); null while its methods are unknown. */
  exports: boolean | null
}

/** Methods that make a plugin an exporter, whose status shows the Export panel. */

/** Everything the status page shows, each part read from where the fleet keeps it (Postgres, Redis, the scheduled queue). */
export async function configStatusView({ management, services }: Pick<RouteContext, 'management' | 'services'>, id: number): Promise<ConfigStatusView> {
  const config = await getConfig(management, id)
  const { pool, redis, queuePrefix } = management
  const version = { pluginId: config.plugin_id, version: config.plugin_version }
  const [setup, exported, scheduled, errorLogs, processing, capabilities] = await Promise.all([
    readSetupState(redis, queuePrefix, id),
    exportStatus(pool, redis, queuePrefix, id),
    readScheduledTasks(services.scheduledQueues().forConfig(id), redis, queuePrefix, id),
    readLogs(management, id, { levels: ['ERROR'], limit: 1 }),
    readProcessingSeries(redis, queuePrefix, id, 60),
    readVersionCapabilities(pool, [version]),
  ])
  // Versions installed before capabilities were recorded are known once a worker loaded them.
  const methods = capabilities.get(versionKey(version))?.methods ?? setup.methods
  return {
    config,
    setup: setupView(config, setup),
    last_error: lastError(config.error, errorLogs[0]),
    disabled_reason: config.disabled_reason,
    export: {
      metrics: exported.metrics,
      buffer: exported.buffer,
      pending_batches: exported.pendingBatches,
      retries_in_flight: exported.retriesInFlight,
      dead_letters: exported.deadLetters,
    },
    plugin_metrics: exported.pluginMetrics,
    scheduled,
    processing: processing.total,
    methods,
    exports: methods === null ? null : methods.some((m) => (EXPORTING_METHODS as readonly string[]).includes(m)),
  }
}

/** Workers forget a config once it is disabled, so Postgres has the last word on that. */
function setupView(config: PluginConfigView, setup: FleetSetupState): SetupView {
  if (!config.enabled) {
    return {
      status: 'disabled',
      attempts: setup.attempts,
      next_attempt_at: null,
      last_error: config.disabled_reason ?? setup.lastError,
      updated_at: setup.updatedAt ?? new Date(config.updated_at).toISOString(),
    }
  }
  return { status: setup.status, attempts: setup.attempts, next_attempt_at: setup.nextAttemptAt, last_error: setup.lastError, updated_at: setup.updatedAt }
}

/**
 * The newer of plugin_configs.error (processEvent failures, setup giving up) and the last ERROR
 * log line, which is where export and job failures are written; both are scrubbed of secrets.
 */
function lastError(error: unknown, log: PluginLogRow | undefined): ConfigStatusView['last_error'] {
  const fromLog = log ? { message: log.message, time: new Date(log.timestamp).toISOString() } : null
  const fromConfig = configError(error)
  if (!fromConfig) return fromLog
  if (!fromLog) return fromConfig
  return Date.parse(fromLog.time) > Date.parse(fromConfig.time) ? fromLog : fromConfig
}

function configError(error: unknown): ConfigStatusView['last_error'] {
  if (typeof error !== 'object' || error === null) return null
  const { message, time } = error as { message?: unknown; time?: unknown }
  return typeof message === 'string' ? { message, time: typeof time === 'string' ? time : '' } : null
}
