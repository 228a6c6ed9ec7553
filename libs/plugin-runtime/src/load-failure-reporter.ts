import { clearPluginLoadError, recordPluginLoadError } from '@plugin-server/db'
import { logTarget } from './create-host'
import type { RuntimeServices } from './interfaces'
import { countLoadFailure, loadFailuresCounter } from './load-failure-metrics'
import type { LoadFailureReason } from './load-failure-reason'
import type { PluginConfigRecord } from './load-configs'
import { storeFailure } from './store-failure'

export interface LoadFailure {
  record: PluginConfigRecord
  reason: LoadFailureReason
  /** Already redacted of the config's secret values. */
  message: string
  /** Failed attempts in a row, this one included. */
  attempt: number
  retryInMs: number
}

/**
 * Makes a config whose plugin cannot be loaded visible where each audience looks: pino (operators,
 * every attempt), `plugin_load_failures_total{reason}`, `plugin_configs.error` (CLI, API, UI) and
 * one SYSTEM ERROR line in the config's logs per plugin version and message, fleet-wide: only the
 * worker whose write changed the stored error writes the line. Never throws: a failing write is a
 * pino warning, the failure itself is already on its way to the caller.
 */
export class LoadFailureReporter {
  /** Configs this process loaded since their last failure here, whose stored load error is already cleared. */
  private readonly cleared = new Set<number>()
  private readonly writes = new Set<Promise<void>>()

  constructor(private readonly services: RuntimeServices) {
    // Declared from the start, so dashboards and alerts see a zero rather than no series.
    if (services.registry) loadFailuresCounter(services.registry)
  }

  failed({ record, reason, message, attempt, retryInMs }: LoadFailure): void {
    const { logger, logs, pool, registry } = this.services
    this.cleared.delete(record.id)
    countLoadFailure(registry, reason)
    logger.error(
      {
        team_id: record.teamId,
        plugin_id: record.pluginId,
        plugin_config_id: record.id,
        plugin: record.pluginName,
        plugin_version: record.pluginVersion,
        reason,
        attempt,
        retry_in_ms: Math.round(retryInMs),
        err: message,
      },
      'plugin failed to load',
    )
    this.track(
      recordPluginLoadError(pool, record.id, { message, reason, pluginVersion: record.pluginVersion, time: new Date() }).then((changed) => {
        if (!changed) return
        logs.write(
          logTarget(record),
          'SYSTEM',
          'ERROR',
          `plugin failed to load (version ${record.pluginVersion}, ${reason}): ${message}; the team's events go on without it, and loading is tried again with backoff and as soon as a new version is installed`,
        )
      }),
      record.id,
      "could not store the plugin's load error on the config",
    )
  }

  /** The config's plugin loaded: a load error stored by this or another worker no longer holds. */
  loaded(record: PluginConfigRecord): void {
    if (this.cleared.has(record.id)) return
    this.cleared.add(record.id)
    this.track(
      clearPluginLoadError(this.services.pool, record.id).then(() => undefined),
      record.id,
      "could not clear the config's stored load error",
    )
  }

  forget(pluginConfigId: number): void {
    this.cleared.delete(pluginConfigId)
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.writes])
  }

  /** `what`: the write, as the warning names it if it fails; the cause comes from the error (read-only, unreachable). */
  private track(write: Promise<void>, pluginConfigId: number, what: string): void {
    const tracked = write
      .catch((err: Error) => {
        this.cleared.delete(pluginConfigId)
        const cause = storeFailure('storage', err) ?? `Postgres failed (${err.message})`
        this.services.logger.warn({ plugin_config_id: pluginConfigId, err: err.message }, `${what}: ${cause}`)
      })
      .finally(() => this.writes.delete(tracked))
    this.writes.add(tracked)
  }
}
