import {
  ApiRequest,
  ResponseReading,
  HttpRequestInit,
  HttpResponseData,
  MetricOperation,
  PluginAttachment,
  PluginCapture,
  PluginCursor,
  PluginHost,
  PluginJobRequest,
  PluginLogEntry,
  PluginStorage,
} from '../interfaces'
import { MemoryCache } from './memory-cache'

export interface LocalHostOptions {
  config?: Record<string, unknown>
  attachments?: Record<string, PluginAttachment | null>
  /** Echo plugin console output to stderr as it happens. */
  echoLogs?: boolean
  api?: (request: ApiRequest, reading: ResponseReading) => Promise<HttpResponseData>
  fetch?: (url: string, init: HttpRequestInit) => Promise<HttpResponseData>
  loadHostModule?: (name: string) => unknown
}

export interface MetricRecord {
  name: string
  operation: MetricOperation
  value: number
}

/**
 * An in-memory PluginHost: cache/storage/cursors kept for the life of the object, and everything
 * the plugin asks of the host (logs, captures, jobs, metrics, cache writes) recorded for inspection.
 * Used by tests and `plugin-server plugin run`; fetch stays real unless overridden.
 */
export class LocalHost implements PluginHost {
  readonly config: Readonly<Record<string, unknown>>
  readonly attachments: Readonly<Record<string, PluginAttachment | null>>
  readonly cache = new MemoryCache()
  readonly logs: PluginLogEntry[] = []
  readonly captures: PluginCapture[] = []
  readonly jobs: PluginJobRequest[] = []
  readonly metricUpdates: MetricRecord[] = []
  readonly storageData = new Map<string, unknown>()
  readonly storage: PluginStorage
  readonly cursor: PluginCursor
  readonly api?: (request: ApiRequest, reading: ResponseReading) => Promise<HttpResponseData>
  readonly fetch?: (url: string, init: HttpRequestInit) => Promise<HttpResponseData>
  readonly loadHostModule?: (name: string) => unknown
  private readonly cursors = new Map<string, number>()

  constructor(private readonly options: LocalHostOptions = {}) {
    this.config = options.config ?? {}
    this.attachments = options.attachments ?? {}
    this.api = options.api
    this.fetch = options.fetch
    this.loadHostModule = options.loadHostModule
    const data = this.storageData
    this.storage = {
      get: async (key, defaultValue) => (data.has(key) ? data.get(key) : (defaultValue ?? null)),
      set: async (key, value) => void data.set(key, JSON.parse(JSON.stringify(value ?? null))),
      del: async (key) => void data.delete(key),
    }
    this.cursor = {
      init: async (key, initialValue = 0) => {
        if (!this.cursors.has(key)) this.cursors.set(key, initialValue)
      },
      increment: async (key, incrementBy = 1) => {
        const next = (this.cursors.get(key) ?? 0) + incrementBy
        this.cursors.set(key, next)
        return next
      },
    }
  }

  async enqueueJob(job: PluginJobRequest): Promise<void> {
    this.jobs.push(job)
  }

  updateMetric(name: string, operation: MetricOperation, value: number): void {
    this.metricUpdates.push({ name, operation, value })
  }

  async geoipLocate(): Promise<unknown> {
    return null
  }

  log(entry: PluginLogEntry): void {
    this.logs.push(entry)
    if (this.options.echoLogs) process.stderr.write(`[${entry.pluginName}] ${entry.level}: ${entry.message}\n`)
  }

  capture(capture: PluginCapture): void {
    this.captures.push(capture)
  }
}
