import type { PluginConfigView } from './configs'
import type { ExportMetrics, ProcessingSummary } from './processing'

export type SetupState = 'ready' | 'pending' | 'retrying' | 'failed' | 'disabled' | 'unknown'

export interface SetupView {
  status: SetupState
  attempts: number
  next_attempt_at: string | null
  last_error: string | null
  /** Null while no process has loaded the config. */
  updated_at: string | null
}

export interface ScheduledRun {
  started_at: string
  duration_ms: number
  outcome: 'ok' | 'error'
  error?: string
}

export interface ScheduledTask {
  task: string
  next_run_at: string | null
  running?: boolean
  last_runs: ScheduledRun[]
}

export interface ExportStatusView {
  metrics: ExportMetrics
  buffer: { events: number; bytes: number; ageSeconds: number | null }
  pending_batches: number
  retries_in_flight: number
  dead_letters: { pending: number; pendingEvents: number; replayed: number }
}

export interface ConfigStatusView {
  config: PluginConfigView
  setup: SetupView
  last_error: { message: string; time: string } | null
  disabled_reason: string | null
  export: ExportStatusView | null
  plugin_metrics: Record<string, number>
  scheduled: ScheduledTask[]
  /** The last hour of the config's processEvent, fleet-wide. */
  processing: ProcessingSummary
  /** The plugin's methods as recorded at install or as the workers that loaded it saw them; null until known. */
  methods: string[] | null
  /** Whether the plugin exports events; null while its methods are unknown. */
  exports: boolean | null
}
