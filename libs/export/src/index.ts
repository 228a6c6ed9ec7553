export { EXPORT_METRIC_NAMES } from './interfaces'
export type { ExportMethod, DeliveryJobData, ExportCounts, DeadLetter, HistoricalRunProgress, ExportStatus, ExportSettings } from './interfaces'
export { exportSettings } from './export-settings'
export { configExportOptions, CONFIG_BUFFER_MAX_SECONDS } from './config-export-options'
export { exportKeys, DELIVERIES_QUEUE } from './keys'
export { retryDelayMs, MAX_RETRIES } from './retry-schedule'
export type { Webhook } from './send-webhook'
export { deliver } from './deliver'
export { methodReceives } from './method-receives'
export type { DeliveryTarget } from './deliver'
export { DeliveryQueue } from './delivery-queue'
export { busyConfigDelayMs } from './delivery-processor'
export type { NewDelivery, DeliveryOverflow } from './delivery-queue'
export type { PendingLimits } from './pending-limit-text'
export { ExportBuffer } from './export-buffer'
export { ExportMetrics } from './export-metrics'
export { flushDue } from './flush-due'
export { addToExportSeries, EXPORT_SERIES_BUCKET_MS } from './export-series'
export { readExportSeries, EXPORT_SERIES_MAX_MINUTES } from './read-export-series'
export type { ExportSeries } from './read-export-series'
export { registerPendingGauges } from './pending-gauges'
export { exportingConfigs } from './exporting-configs'
export { deadLetterEvents, insertDeadLetter, listDeadLetters } from './dead-letters'
export { MAX_REPLAYED_PER_REQUEST, replayDeadLetters } from './replay-dead-letters'
export { HistoricalQueue } from './historical-queue'
export { listHistoricalProgress, getHistoricalProgress } from './historical-progress'
export {
  startHistoricalExport,
  cancelHistoricalExport,
  HistoricalRunOverlap,
  HistoricalRunLimit,
  HistoricalExportRefused,
  MAX_UNFINISHED_RUNS_PER_CONFIG,
  MAX_UNFINISHED_RUNS_PER_TEAM,
} from './start-historical-export'
export { exportStatus } from './export-status'
export { startExporter } from './start-exporter'
export type { RunningExporter } from './start-exporter'
export { admitPending, finishPending } from './pending-events'
export type { Admitted, PendingCaps, PendingLimit, PendingOwner } from './pending-events'
// The methods that make a plugin one the exporters deliver to, for the views that say so.
export { EXPORTING_METHODS } from '@plugin-server/plugin-vm'
export type { ReplayResult } from './replay-dead-letters'
export { TeamRereads } from './team-rereads'
