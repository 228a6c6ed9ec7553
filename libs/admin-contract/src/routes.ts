import type { CreateConfigInput, DeleteConfigResult, PluginConfigView, ReorderConfigsInput, UpdateConfigInput } from './configs'
import type { DeadLetter, HistoricalRun, ReplayDeadLettersInput, ReplayResult, StartHistoricalExportInput } from './exports'
import type { JobsView, TriggeredJob, TriggerJobInput } from './jobs'
import type { LogRow } from './logs'
import type { DeletePluginResult, InstallResult, PluginDetail, PluginSummary, SetCurrentVersionInput, SetCurrentVersionResult } from './plugins'
import type { ConfigMetrics, ConfigsHealth, ExportSeries, ProcessingSeries } from './processing'
import type { ConfigStatusView } from './status'
import type { CreateTeamInput, DeleteTeamResult, Me, Team, TeamSettings, TeamUsage, UpdateTeamInput } from './teams'
import type { TryRequest, TryResult } from './try'

/** A body that is not JSON: the plugin archive, or an attachment's file. */
export interface RawBody {
  raw: true
}

/**
 * Every endpoint, `METHOD /path` as API.md lists it: the JSON body it takes (`never`: none) and
 * what a success answers. admin-api types each route's answer with `answer`, admin-ui its calls.
 */
export interface AdminRoutes {
  'GET /api/me': { body: never; answer: Me }
  /** One page (`?limit=&after=<id>`); the next is in `Link: <…>; rel="next"`. */
  'GET /api/teams': { body: never; answer: Team[] }
  'POST /api/teams': { body: CreateTeamInput; answer: Team }
  'DELETE /api/teams/:teamId': { body: never; answer: DeleteTeamResult }
  'GET /api/teams/:teamId': { body: never; answer: TeamSettings }
  'PATCH /api/teams/:teamId': { body: UpdateTeamInput; answer: TeamSettings }
  /** One page (`?limit=&after=<name>`); the next is in `Link: <…>; rel="next"`. */
  'GET /api/plugins': { body: never; answer: PluginSummary[] }
  'POST /api/plugins': { body: RawBody; answer: InstallResult }
  'GET /api/plugins/:plugin': { body: never; answer: PluginDetail }
  'POST /api/plugins/:plugin/current-version': { body: SetCurrentVersionInput; answer: SetCurrentVersionResult }
  'DELETE /api/plugins/:plugin': { body: never; answer: DeletePluginResult }
  'GET /api/teams/:teamId/configs': { body: never; answer: PluginConfigView[] }
  'POST /api/teams/:teamId/configs': { body: CreateConfigInput; answer: PluginConfigView }
  'GET /api/teams/:teamId/configs/health': { body: never; answer: ConfigsHealth }
  'GET /api/teams/:teamId/usage': { body: never; answer: TeamUsage }
  'PUT /api/teams/:teamId/configs/order': { body: ReorderConfigsInput; answer: PluginConfigView[] }
  'GET /api/configs/:id': { body: never; answer: PluginConfigView }
  'PATCH /api/configs/:id': { body: UpdateConfigInput; answer: PluginConfigView }
  'DELETE /api/configs/:id': { body: never; answer: DeleteConfigResult }
  'POST /api/configs/:id/enable': { body: never; answer: PluginConfigView }
  'POST /api/configs/:id/disable': { body: never; answer: PluginConfigView }
  'PUT /api/configs/:id/attachments/:key': { body: RawBody; answer: PluginConfigView }
  'GET /api/configs/:id/status': { body: never; answer: ConfigStatusView }
  'GET /api/configs/:id/metrics': { body: never; answer: ConfigMetrics }
  'GET /api/configs/:id/export-series': { body: never; answer: ExportSeries }
  'GET /api/configs/:id/processing-series': { body: never; answer: ProcessingSeries }
  'GET /api/configs/:id/logs': { body: never; answer: LogRow[] }
  'GET /api/configs/:id/jobs': { body: never; answer: JobsView }
  'POST /api/configs/:id/jobs/:name': { body: TriggerJobInput; answer: TriggeredJob }
  'GET /api/configs/:id/dead-letters': { body: never; answer: DeadLetter[] }
  'POST /api/configs/:id/dead-letters/replay': { body: ReplayDeadLettersInput; answer: ReplayResult }
  'GET /api/configs/:id/historical-exports': { body: never; answer: HistoricalRun[] }
  'POST /api/configs/:id/historical-exports': { body: StartHistoricalExportInput; answer: HistoricalRun }
  'GET /api/configs/:id/historical-exports/:run': { body: never; answer: HistoricalRun }
  'POST /api/configs/:id/historical-exports/:run/cancel': { body: never; answer: HistoricalRun }
  'POST /api/teams/:teamId/try': { body: TryRequest; answer: TryResult }
}

export type AdminRouteKey = keyof AdminRoutes

/** The answer of a route, by its `METHOD /path`. */
export type Answer<K extends AdminRouteKey> = AdminRoutes[K]['answer']

/** The same keys at run time, for the test that checks API.md and the registered routes against them. */
export const ADMIN_ROUTE_KEYS = [
  'GET /api/me',
  'GET /api/teams',
  'POST /api/teams',
  'DELETE /api/teams/:teamId',
  'GET /api/teams/:teamId',
  'PATCH /api/teams/:teamId',
  'GET /api/plugins',
  'POST /api/plugins',
  'GET /api/plugins/:plugin',
  'POST /api/plugins/:plugin/current-version',
  'DELETE /api/plugins/:plugin',
  'GET /api/teams/:teamId/configs',
  'POST /api/teams/:teamId/configs',
  'GET /api/teams/:teamId/configs/health',
  'GET /api/teams/:teamId/usage',
  'PUT /api/teams/:teamId/configs/order',
  'GET /api/configs/:id',
  'PATCH /api/configs/:id',
  'DELETE /api/configs/:id',
  'POST /api/configs/:id/enable',
  'POST /api/configs/:id/disable',
  'PUT /api/configs/:id/attachments/:key',
  'GET /api/configs/:id/status',
  'GET /api/configs/:id/metrics',
  'GET /api/configs/:id/export-series',
  'GET /api/configs/:id/processing-series',
  'GET /api/configs/:id/logs',
  'GET /api/configs/:id/jobs',
  'POST /api/configs/:id/jobs/:name',
  'GET /api/configs/:id/dead-letters',
  'POST /api/configs/:id/dead-letters/replay',
  'GET /api/configs/:id/historical-exports',
  'POST /api/configs/:id/historical-exports',
  'GET /api/configs/:id/historical-exports/:run',
  'POST /api/configs/:id/historical-exports/:run/cancel',
  'POST /api/teams/:teamId/try',
] as const satisfies readonly AdminRouteKey[]

// A key in AdminRoutes but not in the list fails to compile here (the reverse fails at `satisfies` above).
type Unlisted = Exclude<AdminRouteKey, (typeof ADMIN_ROUTE_KEYS)[number]>
export const EVERY_ROUTE_LISTED: [Unlisted] extends [never] ? true : Unlisted = true

/**
 * What a server value must be for JSON.stringify to give the wire type W: dates may still be Date
 * objects (they become ISO strings), everything else as W says. A server type missing a field of W,
 * or with another type for it, is not assignable, so a change that breaks the wire fails to compile.
 */
export type ServerValueOf<W> = W extends string
  ? string extends W
    ? string | Date
    : W
  : W extends readonly (infer U)[]
    ? ServerValueOf<U>[]
    : W extends object
      ? { [K in keyof W]: ServerValueOf<W[K]> }
      : W
