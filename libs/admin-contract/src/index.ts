// The admin API's wire contract: what admin-api answers and admin-ui reads. Types only, apart from the route key list.
export type { ErrorCode, ErrorBody } from './errors'
export type { Me, Team, CreateTeamInput, TeamSettings, TeamUsage, DeleteTeamResult, UpdateTeamInput } from './teams'
export type {
  ConfigFieldType,
  ConfigField,
  PayloadFieldSpec,
  PublicJobSpec,
  PluginJson,
  PluginSummary,
  PluginVersion,
  PluginDetail,
  InstallResult,
  SetCurrentVersionInput,
  SetCurrentVersionResult,
  DeletedConfig,
  DeletePluginResult,
} from './plugins'
export type {
  AttachmentView,
  SecretState,
  PluginConfigView,
  DeleteConfigResult,
  NewAttachment,
  CreateConfigInput,
  UpdateConfigInput,
  ReorderConfigsInput,
} from './configs'
export type {
  ProcessingCounts,
  ProcessingSummary,
  ProcessingSeries,
  ConfigsHealth,
  ExportMetrics,
  ExportSeriesPoint,
  ExportSeries,
  ConfigMetrics,
} from './processing'
export type { SetupState, SetupView, ScheduledRun, ScheduledTask, ExportStatusView, ConfigStatusView } from './status'
export type { LogLevel, LogSource, LogRow, LogQuery } from './logs'
export type { JobState, JobView, JobsView, TriggerJobInput, TriggeredJob } from './jobs'
export type { DeadLetter, ReplayDeadLettersInput, ReplayResult, StartHistoricalExportInput, HistoricalRun } from './exports'
export type { PluginEvent, TryTarget, TryRequest, TryHostCall, TryStep, TryResult } from './try'
export type { AdminRoutes, AdminRouteKey, Answer, RawBody, ServerValueOf } from './routes'
export { ADMIN_ROUTE_KEYS } from './routes'
