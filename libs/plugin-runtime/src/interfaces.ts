import type { Config, Logger, PluginJobData } from '@plugin-server/core'
import type { ClosedServices, PluginMethodName, PluginInstance } from '@plugin-server/plugin-vm'
import type { Queue } from 'bullmq'
import type { Registry } from 'prom-client'
import type Redis from 'ioredis'
import type { Pool } from 'pg'
import type { GeoIpLocator } from './geoip-locator'
import type { LoadFailureReason } from './load-failure-reason'
import type { PluginConfigRecord } from './load-configs'
import type { PluginLogWriter } from './log-writer'
import type { PluginCapturer } from './plugin-capture'

/** The shared services every plugin host of one process draws on. */
export interface RuntimeServices {
  pool: Pool
  redis: Redis
  queuePrefix: string
  logger: Logger
  logs: PluginLogWriter
  capturer: PluginCapturer
  jobs: Queue<PluginJobData>
  geoip: GeoIpLocator
  plugins: Config['plugins']
  /** The fleet's own services (its Redis), refused to every plugin socket whatever the allowlist (fleet-services.ts). */
  closedServices: ClosedServices
  timeScale: number
  /** The role's metrics registry (the circuit breaker counts disabled configs there). */
  registry?: Registry
}

export type SetupState =
  | { status: 'pending' }
  | { status: 'ready' }
  | { status: 'retrying'; attempts: number; firstAttemptAt: number; nextAttemptAt: number; lastError: string }
  | { status: 'disabled'; reason: string }
  /** The plugin could not be loaded (compiled or evaluated); tried again at `nextAttemptAt`. */
  | { status: 'failed'; attempts: number; nextAttemptAt: number; lastError: string; reason: LoadFailureReason }

/**
 * Which configs a process over PLUGIN_MAX_LIVE_INSTANCES evicts first (the highest ranked idle one),
 * for a role that knows better than recency: the scheduler, from its runs' due times. Given what the
 * config's instance exports and when it was last used (ms since the epoch).
 */
export type ConfigEvictionRank = (pluginConfigId: number, methods: readonly PluginMethodName[], lastUsedAt: number) => number

/** A config whose setupPlugin succeeded in this process: what the ingest, export, scheduler and job roles call. */
export interface ActiveConfig {
  record: PluginConfigRecord
  methods: readonly PluginMethodName[]
  jobNames: readonly string[]
  /** Runs `fn` with the config's instance (reloaded and set up again if it was evicted or broke). */
  use<T>(fn: (instance: PluginInstance) => Promise<T>, options?: { captureDepth?: number }): Promise<T>
}
