import { Logger, toPostgresJson } from '@plugin-server/core'
import type { Pool } from 'pg'
import { redact } from '../secrets/redact'

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

interface Row {
  team_id: number
  plugin_id: number
  plugin_config_id: number
  timestamp: string
  source: LogSource
  type: LogType
  message: string
  instance_id: string
}

const MAX_MESSAGE = 10_000

/**
 * Plugin logs go to `plugin_log_entries` (what users read) in batched inserts, and to pino with the
 * team, plugin and config ids (what operators read). Buffered rows are bounded so a plugin that
 * logs in a loop cannot exhaust memory; what is dropped is counted and reported.
 */
export class PluginLogWriter {
  private buffer: Row[] = []
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

  write(target: LogTarget, source: LogSource, type: LogType, text: string): void {
    const message = redact(text, target.secrets).slice(0, MAX_MESSAGE)
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
      await this.pool.query(
        `INSERT INTO plugin_log_entries (team_id, plugin_id, plugin_config_id, timestamp, source, type, message, instance_id)
         SELECT team_id, plugin_id, plugin_config_id, timestamp, source, type, message, instance_id
         FROM jsonb_to_recordset($1::jsonb) AS r(team_id int, plugin_id int, plugin_config_id int, timestamp timestamptz,
           source text, type text, message text, instance_id text)`,
        [toPostgresJson(JSON.stringify(rows))],
      )
    } catch (err) {
      // Postgres is down: keep the rows for the next flush, within the bound.
      this.buffer = [...rows, ...this.buffer].slice(0, this.options.maxBuffered)
      this.logger.warn({ err: (err as Error).message, rows: rows.length }, 'could not write plugin log entries, will retry')
    }
  }
}
