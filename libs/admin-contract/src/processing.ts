export interface ProcessingCounts {
  events_in: number
  events_returned: number
  events_dropped: number
  events_failed: number
  calls: number
  time_ms: number
}

export interface ProcessingSummary extends ProcessingCounts {
  p50_ms: number | null
  p99_ms: number | null
}

export interface ProcessingSeries {
  bucket_seconds: number
  points: (ProcessingSummary & { t: string })[]
  total: ProcessingSummary
}

export interface ConfigsHealth {
  minutes: number
  configs: (ProcessingCounts & { id: number })[]
}

export interface ExportMetrics {
  events_seen: number
  events_delivered_successfully: number
  retry_errors: number
  other_errors: number
  undelivered_events: number
}

export interface ExportSeriesPoint extends ExportMetrics {
  t: string
}

export interface ExportSeries {
  bucket_seconds: number
  points: ExportSeriesPoint[]
}

export interface ConfigMetrics {
  plugin_config_id: number
  metrics: Record<string, number>
}
