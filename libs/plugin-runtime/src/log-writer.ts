import { Logger } from '@plugin-server/core'
import { insertPluginLogs, NewPluginLogRow } from '@plugin-server/db'
import type { Pool } from 'pg'
import { redact } from '@plugin-server/secrets'
import { pluginStackFrames } from './plugin-stack'

export type LogSource = 'SYSTEM' | 'PLUGIN' | 'CONSOLE'
export type LogType = 'DEBUG' | 'LOG' | 'INFO' | 'WARN' | 'ERROR'

export interface LogTarget {
  teamId: number
  pluginId: number
  pluginConfigId: number
  pluginName: string
  /** Values that must never be written anywhere (secret config fields); replaced by "***". */
  secrets: readonly string[]
}

const MAX_MESSAGE = 10_000

/**
 * Plugin logs go to `plugin_log_entries` (what users read) in batched inserts, and to pino with the
 * team, plugin and config ids (what operators read). Buffered rows are bounded so a plugin that
 * logs in a loop cannot exhaust memory; what is dropped is counted and reported.
 *
 * A failure of plugin code passes the plugin's stack: its frames follow the first line of the
 * message, so the row reads `summary\n    at fn (plugin/name/index.js:3:9)…` wherever it is shown.
 */
export class PluginLogWriter {
  private buffer: NewPluginLogRow[] = []
  private dropped = 0
  private readonly timer: NodeJS.Timeout
  private flushing: Promise<void> = Promise.resolve()

  constructor(
    private readonly pool: Pool,
    private readonly logger: Logger,
    private readonly instanceId: string,
    private readonly options = { flushIntervalMs: 500, maxBuffered: 10_000 },
  ) {
    this.timer = setInterval(() => void this.flush(), options.flushIntervalMs)
    this.timer.unref()
  }

  write(target: LogTarget, source: LogSource, type: LogType, text: string, pluginStack?: string): void {
    const frames = pluginStackFrames(pluginStack)
    const message = redact(frames === null ? text : `${text}\n${frames}`, target.secrets).slice(0, MAX_MESSAGE)
    const level = type === 'ERROR' ? 'error' : type === 'WARN' ? 'warn' : type === 'DEBUG' ? 'debug' : 'info'
    this.logger[level](
      { team_id: target.teamId, plugin_id: target.pluginId, plugin_config_id: target.pluginConfigId, plugin: target.pluginName, source },
      message,
    )
    if (this.buffer.length >= this.options.maxBuffered) {
      this.dropped++
      return
    }
    this.buffer.push({
      team_id: target.teamId,
      plugin_id: target.pluginId,
      plugin_config_id: target.pluginConfigId,
      timestamp: new Date().toISOString(),
      source,
      type,
      message,
      instance_id: this.instanceId,
    })
  }

  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushNow())
    return this.flushing
  }

  async close(): Promise<void> {
    clearInterval(this.timer)
    await this.flush()
  }

  private async flushNow(): Promise<void> {
    if (this.dropped > 0) {
      this.logger.warn({ dropped: this.dropped }, 'plugin log entries dropped: too many buffered')
      this.dropped = 0
    }
    if (this.buffer.length === 0) return
    const rows = this.buffer
    this.buffer = []
    try {
      await insertPluginLogs(this.pool, rows)
    } catch (err) {
      // Postgres is down: keep the rows for the next flush, within the bound.
      this.buffer = [...rows, ...this.buffer].slice(0, this.options.maxBuffered)
      this.logger.warn({ err: (err as Error).message, rows: rows.length }, 'could not write plugin log entries, will retry')
    }
  }
}
