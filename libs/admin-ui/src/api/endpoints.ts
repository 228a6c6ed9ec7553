// Every call the UI makes, one function per endpoint of libs/admin-api/API.md.
import { request } from './client'
import type {
  ConfigsHealth,
  ConfigStatus,
  CreateConfigInput,
  DeadLetter,
  ExportSeries,
  HistoricalRun,
  InstallResult,
  JobsView,
  LogQuery,
  LogRow,
  Me,
  PluginConfigView,
  PluginDetail,
  PluginEvent,
  PluginSummary,
  ProcessingSeries,
  ReplayResult,
  SetCurrentVersionResult,
  Team,
  TriggeredJob,
  TryResult,
  TryTarget,
  UpdateConfigInput,
} from './types'

const config = (id: number) => `/api/configs/${id}`

export const api = {
  me: (token?: string) => request<Me>('GET', '/api/me', { token }),
  teams: () => request<Team[]>('GET', '/api/teams'),

  plugins: () => request<PluginSummary[]>('GET', '/api/plugins'),
  plugin: (ref: number | string) => request<PluginDetail>('GET', `/api/plugins/${encodeURIComponent(ref)}`),
  installPlugin: (archive: Blob, contentType: string) => request<InstallResult>('POST', '/api/plugins', { body: { raw: archive, contentType } }),
  setCurrentVersion: (ref: number | string, version: number) =>
    request<SetCurrentVersionResult>('POST', `/api/plugins/${encodeURIComponent(ref)}/current-version`, { body: { json: { version } } }),

  configs: (teamId: number) => request<PluginConfigView[]>('GET', `/api/teams/${teamId}/configs`),
  createConfig: (teamId: number, input: CreateConfigInput) => request<PluginConfigView>('POST', `/api/teams/${teamId}/configs`, { body: { json: input } }),
  reorderConfigs: (teamId: number, ids: number[]) => request<PluginConfigView[]>('PUT', `/api/teams/${teamId}/configs/order`, { body: { json: { ids } } }),
  config: (id: number) => request<PluginConfigView>('GET', config(id)),
  updateConfig: (id: number, input: UpdateConfigInput) => request<PluginConfigView>('PATCH', config(id), { body: { json: input } }),
  deleteConfig: (id: number) => request<PluginConfigView>('DELETE', config(id)),
  setConfigEnabled: (id: number, enabled: boolean) => request<PluginConfigView>('POST', `${config(id)}/${enabled ? 'enable' : 'disable'}`),
  uploadAttachment: (id: number, key: string, file: File) =>
    request<PluginConfigView>('PUT', `${config(id)}/attachments/${encodeURIComponent(key)}`, {
      // Header values must be ISO-8859-1; anything else in a file name is percent-encoded.
      body: { raw: file, contentType: file.type || 'application/octet-stream', headers: { 'X-File-Name': latin1(file.name) } },
    }),

  status: (id: number) => request<ConfigStatus>('GET', `${config(id)}/status`),
  exportSeries: (id: number, minutes: number) => request<ExportSeries>('GET', `${config(id)}/export-series?minutes=${minutes}`),
  processingSeries: (id: number, minutes: number) => request<ProcessingSeries>('GET', `${config(id)}/processing-series?minutes=${minutes}`),
  configsHealth: (teamId: number) => request<ConfigsHealth>('GET', `/api/teams/${teamId}/configs/health`),
  logs: (id: number, query: LogQuery, signal?: AbortSignal) => request<LogRow[]>('GET', `${config(id)}/logs?${logParams(query)}`, { signal }),

  jobs: (id: number) => request<JobsView>('GET', `${config(id)}/jobs?limit=50`),
  triggerJob: (id: number, name: string, payload: Record<string, unknown> | undefined) =>
    request<TriggeredJob>('POST', `${config(id)}/jobs/${encodeURIComponent(name)}`, { body: { json: payload === undefined ? {} : { payload } } }),

  deadLetters: (id: number) => request<DeadLetter[]>('GET', `${config(id)}/dead-letters`),
  replayDeadLetters: (id: number, ids?: number[]) => request<ReplayResult>('POST', `${config(id)}/dead-letters/replay`, { body: { json: ids ? { ids } : {} } }),
  historicalExports: (id: number) => request<HistoricalRun[]>('GET', `${config(id)}/historical-exports`),
  startHistoricalExport: (id: number, from: string, to: string) =>
    request<HistoricalRun>('POST', `${config(id)}/historical-exports`, { body: { json: { from, to } } }),
  cancelHistoricalExport: (id: number, runId: number) => request<HistoricalRun>('POST', `${config(id)}/historical-exports/${runId}/cancel`),

  tryEvent: (teamId: number, event: PluginEvent, target: TryTarget) =>
    request<TryResult>('POST', `/api/teams/${teamId}/try`, { body: { json: { event, target } } }),
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
