import { Logger } from '@plugin-server/core'
import { insertPluginLogs, NewPluginLogRow } from '@plugin-server/db'
import type { Pool } from 'pg'
import { redactCut } from '@plugin-server/secrets'
import { pluginStackFrames } from '@plugin-server/plugin-vm'
import { CountedWarning } from './counted-warning'

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
/** The server's own lines about a config get this many times PLUGIN_LOG_KB_PER_MINUTE (see admit). */
const SYSTEM_CHARS_FACTOR = 4
const MINUTE_MS = 60_000
/**
 * The most of the buffer one team's rows may hold. The buffer fills when inserts fall behind (they
 * are serialised fleet-wide) or fail (Postgres down), and it was first come, first kept: one team's
 * configs, each within its own quota, could take every row and leave the other teams' lines, their
 * failures included, to be dropped. With a quarter each, at least four teams keep lines.
 */
const TEAM_SHARE = 0.25
/** A write that fails is retried every flush (500 ms): the operators hear of the first at once, then once a minute. */
const WRITE_FAILURE_WARNING_MS = 60_000

export interface PluginLogWriterOptions {
  flushIntervalMs: number
  /** Rows held for the next insert, all configs together (one team at most TEAM_SHARE of them); past it rows are dropped (Postgres down). */
  maxBuffered: number
  /** PLUGIN_LOG_LINES_PER_MINUTE: lines one config may write per minute in this process. */
  linesPerMinute: number
  /** PLUGIN_LOG_KB_PER_MINUTE: characters of text one config may write per minute in this process; none when absent. */
  charsPerMinute?: number
}

/** One config's lines in the current minute. */
interface MinuteQuota {
  minute: number
  written: number
  chars: number
  dropped: number
  /** Which quotas dropped lines: the lines', the characters'. */
  droppedForLines: boolean
  droppedForChars: boolean
  target: LogTarget
}

/**
 * Plugin logs go to `plugin_log_entries` (what users read) in batched inserts, and to pino with the
 * team, plugin and config ids (what operators read). Each config may write `linesPerMinute` lines a
 * minute (both places; the server's own lines about it have as many again): a plugin logging in a
 * loop would otherwise fill Postgres, flood the operators' logs, and take the shared buffer from
 * every other team's lines. What it dropped is said once the minute is over, in its own logs.
 * Buffered rows are bounded too (Postgres down), one team's to a share of them (TEAM_SHARE).
 *
 * A failure of plugin code passes the plugin's stack: its frames follow the first line of the
 * message, so the row reads `summary\n    at fn (plugin/name/index.js:3:9)…` wherever it is shown.
 */
export class PluginLogWriter {
  private buffer: NewPluginLogRow[] = []
  /** Rows of each team in `buffer` and in the insert in flight, and of all teams. */
  private held = new Map<number, number>()
  private heldTotal = 0
  /** Rows dropped because the buffer or the team's share of it was full, by config, until the config's logs can say so. */
  private dropped = new Map<number, { target: LogTarget; count: number }>()
  /** By config and by whose lines: the server's own (SYSTEM) have a quota of their own, so a plugin's flood cannot hide them. */
  private readonly quotas = new Map<string, MinuteQuota>()
  private readonly timer: NodeJS.Timeout
  private flushing: Promise<void> = Promise.resolve()
  private readonly writeFailures = new CountedWarning<string>(WRITE_FAILURE_WARNING_MS, (failures, first, err) =>
    this.logger.warn(
      { err, failed_writes: failures, held_rows: this.heldTotal, dropped_rows: [...this.dropped.values()].reduce((n, d) => n + d.count, 0) },
      first
        ? 'could not write plugin log entries, will retry'
        : `could not write plugin log entries (${failures} failed writes since the last warning), will retry`,
    ),
  )

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
    // A line is kept to MAX_MESSAGE characters, its stack frames included.
    if (!this.admit(target, source, Math.min(MAX_MESSAGE, text.length + (pluginStack?.length ?? 0)))) return
    this.append(target, source, type, text, pluginStack)
  }

  private append(target: LogTarget, source: LogSource, type: LogType, text: string, pluginStack?: string): void {
    const frames = pluginStackFrames(pluginStack)
    const whole = frames === null ? text : `${text}\n${frames}`
    const message = redactCut(whole, target.secrets, MAX_MESSAGE)
    const level = type === 'ERROR' ? 'error' : type === 'WARN' ? 'warn' : type === 'DEBUG' ? 'debug' : 'info'
    this.logger[level](
      { team_id: target.teamId, plugin_id: target.pluginId, plugin_config_id: target.pluginConfigId, plugin: target.pluginName, source },
      message,
    )
    this.keep(this.row(target, source, type, message), target)
  }

  private row(target: LogTarget, source: LogSource, type: LogType, message: string): NewPluginLogRow {
    return {
      team_id: target.teamId,
      plugin_id: target.pluginId,
      plugin_config_id: target.pluginConfigId,
      timestamp: new Date().toISOString(),
      source,
      type,
      message,
      instance_id: this.instanceId,
    }
  }

  /**
   * Buffers the row if there is room for it in the buffer and in its team's share; otherwise counts
   * `lines` dropped for its config (a notice of earlier drops refused again carries their count).
   */
  private keep(row: NewPluginLogRow, target: LogTarget, lines = 1): void {
    const held = this.held.get(row.team_id) ?? 0
    if (this.heldTotal >= this.options.maxBuffered || held >= this.teamLimit()) {
      const dropped = this.dropped.get(row.plugin_config_id)
      if (dropped) dropped.count += lines
      else this.dropped.set(row.plugin_config_id, { target, count: lines })
      return
    }
    this.held.set(row.team_id, held + 1)
    this.heldTotal++
    this.buffer.push(row)
  }

  private teamLimit(): number {
    return Math.max(1, Math.floor(this.options.maxBuffered * TEAM_SHARE))
  }

  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushNow())
    return this.flushing
  }

  async close(): Promise<void> {
    clearInterval(this.timer)
    this.closeMinutes(true)
    await this.flush()
    // The notices of drops that the first write made room for.
    if (this.buffer.length > 0) await this.flush()
  }

  /** Whether the config has lines and characters left this minute; a new minute first says what the last one dropped. */
  private admit(target: LogTarget, source: LogSource, chars: number): boolean {
    const minute = Math.floor(Date.now() / MINUTE_MS)
    const key = `${target.pluginConfigId}:${source === 'SYSTEM' ? 'server' : 'plugin'}`
    let quota = this.quotas.get(key)
    if (quota?.minute !== minute) {
      if (quota) this.sayDropped(quota)
      quota = { minute, written: 0, chars: 0, dropped: 0, droppedForLines: false, droppedForChars: false, target }
      this.quotas.set(key, quota)
    }
    // The server's own lines quote a plugin's messages (delivery failures, up to 10 000 characters):
    // four times the characters, so a plugin failing with long messages hides the server's notices
    // (a disable, a dead letter) only past about 100 of them a minute, and still cannot flood Postgres.
    const charsLimit = (this.options.charsPerMinute ?? Number.POSITIVE_INFINITY) * (source === 'SYSTEM' ? SYSTEM_CHARS_FACTOR : 1)
    const overLines = quota.written >= this.options.linesPerMinute
    const overChars = quota.chars + chars > charsLimit
    if (overLines || overChars) {
      quota.dropped++
      quota.droppedForLines ||= overLines
      quota.droppedForChars ||= overChars
      return false
    }
    quota.written++
    quota.chars += chars
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
    const limits = [
      ...(quota.droppedForLines ? [`PLUGIN_LOG_LINES_PER_MINUTE (${this.options.linesPerMinute} lines`] : []),
      ...(quota.droppedForChars ? [`PLUGIN_LOG_KB_PER_MINUTE (${Math.round((this.options.charsPerMinute ?? 0) / 1024)} KB of text`] : []),
    ]
    this.append(
      quota.target,
      'SYSTEM',
      'WARN',
      `${quota.dropped} log lines of this plugin were dropped in the minute from ${from} UTC: over ${limits.join(' a minute) and ')} a minute per plugin config and worker process)`,
    )
  }

  private async flushNow(): Promise<void> {
    this.closeMinutes()
    if (this.buffer.length === 0) return this.sayBufferDrops()
    const rows = this.buffer
    this.buffer = []
    try {
      await insertPluginLogs(this.pool, rows)
      for (const row of rows) this.release(row.team_id)
      this.sayBufferDrops()
    } catch (err) {
      // Postgres is down: the rows stay, counted as they were, for the next flush.
      this.buffer = [...rows, ...this.buffer]
      this.writeFailures.add(1, (err as Error).message)
    }
  }

  /**
   * Once rows were written (there is room again), what the full buffer dropped: the operators' log
   * by team, and each config's own logs (a row that is then refused too is counted for next time).
   */
  private sayBufferDrops(): void {
    if (this.dropped.size === 0) return
    const drops = [...this.dropped.values()]
    this.dropped = new Map()
    const byTeam: Record<number, number> = {}
    for (const { target, count } of drops) byTeam[target.teamId] = (byTeam[target.teamId] ?? 0) + count
    const limits = `${this.options.maxBuffered} rows, a team's at most ${this.teamLimit()}`
    this.logger.warn(
      { dropped: drops.reduce((n, d) => n + d.count, 0), dropped_by_team: byTeam },
      `plugin log entries dropped: the log buffer (${limits}) was full`,
    )
    // Not echoed to pino: the line above says it there, once for all configs.
    for (const { target, count } of drops) {
      const message = `${count} log lines of this plugin were dropped: this worker process's log buffer (${limits}) was full, as its writes to Postgres fell behind or failed`
      this.keep(this.row(target, 'SYSTEM', 'WARN', message), target, count)
    }
  }

  private release(teamId: number): void {
    this.heldTotal--
    const held = (this.held.get(teamId) ?? 0) - 1
    if (held > 0) this.held.set(teamId, held)
    else this.held.delete(teamId)
  }
}
