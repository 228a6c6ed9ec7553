// Every call the UI makes, one function per endpoint of libs/admin-api/API.md, each by its contract key.
import { callPagedRoute, callRoute } from './call-route'
import type { CreateConfigInput, LogQuery, PluginEvent, TryTarget, UpdateConfigInput } from './types'

export const api = {
  me: (token?: string) => callRoute('GET /api/me', {}, { token }),
  teams: () => callPagedRoute('GET /api/teams', {}),
  teamUsage: (teamId: number) => callRoute('GET /api/teams/:teamId/usage', { teamId }),

  plugins: () => callPagedRoute('GET /api/plugins', {}),
  plugin: (ref: number | string) => callRoute('GET /api/plugins/:plugin', { plugin: ref }),
  installPlugin: (archive: Blob, contentType: string) => callRoute('POST /api/plugins', {}, { body: { raw: archive, contentType } }),
  setCurrentVersion: (ref: number | string, version: number) =>
    callRoute('POST /api/plugins/:plugin/current-version', { plugin: ref }, { body: { json: { version } } }),

  configs: (teamId: number) => callRoute('GET /api/teams/:teamId/configs', { teamId }),
  createConfig: (teamId: number, input: CreateConfigInput) => callRoute('POST /api/teams/:teamId/configs', { teamId }, { body: { json: input } }),
  reorderConfigs: (teamId: number, ids: number[]) => callRoute('PUT /api/teams/:teamId/configs/order', { teamId }, { body: { json: { ids } } }),
  config: (id: number) => callRoute('GET /api/configs/:id', { id }),
  updateConfig: (id: number, input: UpdateConfigInput) => callRoute('PATCH /api/configs/:id', { id }, { body: { json: input } }),
  deleteConfig: (id: number) => callRoute('DELETE /api/configs/:id', { id }),
  setConfigEnabled: (id: number, enabled: boolean) => callRoute(enabled ? 'POST /api/configs/:id/enable' : 'POST /api/configs/:id/disable', { id }),
  uploadAttachment: (id: number, key: string, file: File) =>
    callRoute(
      'PUT /api/configs/:id/attachments/:key',
      { id, key },
      // Header values must be ISO-8859-1; anything else in a file name is percent-encoded.
      { body: { raw: file, contentType: file.type || 'application/octet-stream', headers: { 'X-File-Name': latin1(file.name) } } },
    ),

  status: (id: number) => callRoute('GET /api/configs/:id/status', { id }),
  exportSeries: (id: number, minutes: number) => callRoute('GET /api/configs/:id/export-series', { id }, { query: `minutes=${minutes}` }),
  processingSeries: (id: number, minutes: number) => callRoute('GET /api/configs/:id/processing-series', { id }, { query: `minutes=${minutes}` }),
  configsHealth: (teamId: number) => callRoute('GET /api/teams/:teamId/configs/health', { teamId }),
  logs: (id: number, query: LogQuery, signal?: AbortSignal) => callRoute('GET /api/configs/:id/logs', { id }, { query: logParams(query), signal }),

  jobs: (id: number) => callRoute('GET /api/configs/:id/jobs', { id }, { query: 'limit=50' }),
  triggerJob: (id: number, name: string, payload: Record<string, unknown> | undefined) =>
    callRoute('POST /api/configs/:id/jobs/:name', { id, name }, { body: { json: payload === undefined ? {} : { payload } } }),

  deadLetters: (id: number) => callRoute('GET /api/configs/:id/dead-letters', { id }),
  replayDeadLetters: (id: number, ids?: number[]) => callRoute('POST /api/configs/:id/dead-letters/replay', { id }, { body: { json: ids ? { ids } : {} } }),
  historicalExports: (id: number) => callRoute('GET /api/configs/:id/historical-exports', { id }),
  startHistoricalExport: (id: number, from: string, to: string) =>
    callRoute('POST /api/configs/:id/historical-exports', { id }, { body: { json: { from, to } } }),
  cancelHistoricalExport: (id: number, runId: number) => callRoute('POST /api/configs/:id/historical-exports/:run/cancel', { id, run: runId }),

  tryEvent: (teamId: number, event: PluginEvent, target: TryTarget) =>
    callRoute('POST /api/teams/:teamId/try', { teamId }, { body: { json: { event, target } } }),
}

function latin1(name: string): string {
  return /^[\x20-\x7e]*$/.test(name) ? name : encodeURIComponent(name)
}

function logParams(query: LogQuery): string {
  const params = new URLSearchParams()
  for (const level of query.levels) params.append('level', level)
  for (const source of query.sources) params.append('source', source)
  if (query.search !== '') params.set('search', query.search)
  if (query.after !== undefined) params.set('after', String(query.after))
  if (query.limit !== undefined) params.set('limit', String(query.limit))
  if (query.wait !== undefined) params.set('wait', String(query.wait))
  return params.toString()
}
