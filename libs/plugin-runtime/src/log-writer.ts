import { Logger } from '@plugin-server/core'
import { insertPluginLogs, NewPluginLogRow } from '@plugin-server/db'
import type { Pool } from 'pg'
import { redact } from '@plugin-server/secrets'
import { pluginStackFrames } from '@plugin-server/plugin-vm'

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
const MINUTE_MS = 60_000

export interface PluginLogWriterOptions {
  flushIntervalMs: number
  /** Rows held for the next insert, all configs together; past it rows are dropped (Postgres down). */
  maxBuffered: number
  /** PLUGIN_LOG_LINES_PER_MINUTE: lines one config may write per minute in this process. */
  linesPerMinute: number
}

/** One config's lines in the current minute. */
interface MinuteQuota {
  minute: number
  written: number
  dropped: number
  target: LogTarget
}

/**
 * Plugin logs go to `plugin_log_entries` (what users read) in batched inserts, and to pino with the
 * team, plugin and config ids (what operators read). Each config may write `linesPerMinute` lines a
 * minute (both places; the server's own lines about it have as many again): a plugin logging in a
 * loop would otherwise fill Postgres, flood the operators' logs, and take the shared buffer from
 * every other team's lines. What it dropped is said once the minute is over, in its own logs.
 * Buffered rows are bounded too (Postgres down).
 *
 * A failure of plugin code passes the plugin's stack: its frames follow the first line of the
 * message, so the row reads `summary\n    at fn (plugin/name/index.js:3:9)…` wherever it is shown.
 */
export class PluginLogWriter {
  private buffer: NewPluginLogRow[] = []
  private dropped = 0
  /** By config and by whose lines: the server's own (SYSTEM) have a quota of their own, so a plugin's flood cannot hide them. */
  private readonly quotas = new Map<string, MinuteQuota>()
  private readonly timer: NodeJS.Timeout
  private flushing: Promise<void> = Promise.resolve()

  constructor(
    private readonly pool: Pool,
    private readonly logger: Logger,
    private readonly instanceId: string,
    private readonly options: PluginLogWriterOptions = { flushIntervalMs: 500, maxBuffered: 10_000, linesPerMinute: 1000 },
  ) {
    this.timer = setInterval(() => void this.flush(), options.flushIntervalMs)
    this.timer.unref()
  }

  write(target: LogTarget, source: LogSource, type: LogType, text: string, pluginStack?: string): void {
    if (!this.admit(target, source)) return
    this.append(target, source, type, text, pluginStack)
  }

  private append(target: LogTarget, source: LogSource, type: LogType, text: string, pluginStack?: string): void {
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
    this.closeMinutes(true)
    await this.flush()
  }

  /** Whether the config has lines left this minute; a new minute first says what the last one dropped. */
  private admit(target: LogTarget, source: LogSource): boolean {
    const minute = Math.floor(Date.now() / MINUTE_MS)
    const key = `${target.pluginConfigId}:${source === 'SYSTEM' ? 'server' : 'plugin'}`
    let quota = this.quotas.get(key)
    if (quota?.minute !== minute) {
      if (quota) this.sayDropped(quota)
      quota = { minute, written: 0, dropped: 0, target }
      this.quotas.set(key, quota)
    }
    if (quota.written >= this.options.linesPerMinute) {
      quota.dropped++
      return false
    }
    quota.written++
    return true
  }

  /** Minutes that are over (all of them when closing): a config that went quiet still hears what it dropped. */
  private closeMinutes(all = false): void {
    const minute = Math.floor(Date.now() / MINUTE_MS)
    for (const [key, quota] of this.quotas) {
      if (quota.minute === minute && !all) continue
      this.sayDropped(quota)
      this.quotas.delete(key)
    }
  }

  private sayDropped(quota: MinuteQuota): void {
    if (quota.dropped === 0) return
    const from = new Date(quota.minute * MINUTE_MS).toISOString().slice(11, 16)
    this.append(
      quota.target,
      'SYSTEM',
      'WARN',
      `${quota.dropped} log lines of this plugin were dropped in the minute from ${from} UTC: over PLUGIN_LOG_LINES_PER_MINUTE ` +
        `(${this.options.linesPerMinute} lines a minute per plugin config and worker process)`,
    )
  }

  private async flushNow(): Promise<void> {
    this.closeMinutes()
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
