import { randomUUID } from 'node:crypto'
import { windowOver } from '@plugin-server/plugin-vm'
import { type EventBatcher, type IngestEvent, isStorableTime, jsonNestedDeeperThan, MAX_EVENT_DEPTH, parseDate } from '@plugin-server/core'

export const PLUGIN_CAPTURE_DISTINCT_ID = 'Plugin Server'
/** The `$lib` of every event a plugin captured: how the exporters tell one (its capture depth does not reach them). */
export const PLUGIN_CAPTURE_LIB = 'posthog-plugin-server'
const LIB_VERSION = '0.1.0'

export interface CaptureTarget {
  teamId: number
  pluginName: string
  pluginConfigId: number
}

/**
 * `posthog.capture` from a plugin: the event enters the ingest path of the plugin's own team and
 * goes through the plugin chain like any other, so it carries how deep in a capture chain it is.
 */
export function pluginCapturedEvent(target: CaptureTarget, event: string, properties: Record<string, unknown>, depth: number): IngestEvent {
  const { distinct_id: distinctId, timestamp, ...rest } = properties
  const now = new Date().toISOString()
  // Properties arrive parsed from the sandbox's JSON text, so a time is a string. A zone-less one is
  // UTC, as at capture, not the local time of the pod the plugin ran on.
  const parsed = typeof timestamp === 'string' ? parseDate(timestamp) : null
  return {
    uuid: randomUUID(),
    team_id: target.teamId,
    event,
    distinct_id:
      typeof distinctId === 'string' && distinctId !== '' ? distinctId : typeof distinctId === 'number' ? String(distinctId) : PLUGIN_CAPTURE_DISTINCT_ID,
    properties: { $lib: PLUGIN_CAPTURE_LIB, $lib_version: LIB_VERSION, $plugin_config_id: target.pluginConfigId, ...rest },
    timestamp: parsed && isStorableTime(parsed.getTime()) ? parsed.toISOString() : now,
    now,
    sent_at: null,
    ip: null,
    site_url: '',
    plugin_capture_depth: depth,
  }
}

/** Why a capture was dropped; `report` is false for the drops after the first of a team's minute over its bytes. */
export interface CaptureRefusal {
  reason: string
  report: boolean
}

/**
 * Bytes of events each team's plugins captured in this process this minute (one window for all
 * teams, so the map holds only this minute's teams).
 */
class TeamCaptureBytes {
  private readonly teams = new Map<number, { bytes: number; refused: boolean }>()
  private windowStart: number

  constructor(
    private readonly limit: number,
    private readonly now: () => number,
  ) {
    this.windowStart = now()
  }

  /** Whether `bytes` more fit the team's minute (taken if so); `first` when this is its minute's first refusal. */
  take(teamId: number, bytes: number): { ok: boolean; first: boolean } {
    const now = this.now()
    if (windowOver(now, this.windowStart, 60_000)) {
      this.teams.clear()
      this.windowStart = now
    }
    let team = this.teams.get(teamId)
    if (!team) this.teams.set(teamId, (team = { bytes: 0, refused: false }))
    if (team.bytes + bytes <= this.limit) {
      team.bytes += bytes
      return { ok: true, first: false }
    }
    const first = !team.refused
    team.refused = true
    return { ok: false, first }
  }
}

/**
 * Enqueues captured events in batches. An event past the capture depth limit is not enqueued, nor is
 * one capture would refuse from an HTTP client: without a name, larger than CAPTURE_MAX_EVENT_BYTES
 * (a plugin's capture goes into the same ingest queue, in the Redis every team shares) or nested
 * deeper than MAX_EVENT_DEPTH (its team's batch would fail to store on every retry); `capture` answers why.
 */
export class PluginCapturer {
  private readonly teamBytes: TeamCaptureBytes

  /**
   * `teamBytesPerMinute` (PLUGIN_TEAM_CAPTURE_MB_PER_MINUTE): what a team's captures may add to the
   * ingest queue, in the Redis every team shares, per minute of this process. The allowances per
   * call count captures, each up to CAPTURE_MAX_EVENT_BYTES, and each call of a busy worker has its own.
   */
  constructor(
    private readonly batcher: EventBatcher,
    private readonly limits: { maxDepth: number; maxEventBytes: number; teamBytesPerMinute?: number },
    /** Given the event as it was to be enqueued: its uuid is what a support request about it can name. */
    private readonly onError: (target: CaptureTarget, event: IngestEvent, err: Error) => void,
    now: () => number = Date.now,
  ) {
    this.teamBytes = new TeamCaptureBytes(limits.teamBytesPerMinute ?? Number.POSITIVE_INFINITY, now)
  }

  /** Null once enqueued (its promise is the batcher's), else why it was dropped. */
  capture(target: CaptureTarget, event: string, properties: Record<string, unknown>, depth: number): CaptureRefusal | null {
    const { maxDepth, maxEventBytes, teamBytesPerMinute } = this.limits
    const refused = (reason: string): CaptureRefusal => ({ reason, report: true })
    if (depth > maxDepth) return refused(`capture depth ${depth} is over the limit of ${maxDepth} (a plugin capturing events from events it processes loops)`)
    if (event === '') return refused('the event has no name')
    const captured = pluginCapturedEvent(target, event, properties, depth)
    let text: string
    try {
      text = JSON.stringify(captured)
    } catch {
      // Parsed from the sandbox's JSON text, it can only be too deep for this stack (about 4 400 levels).
      return refused(`the event is nested deeper than ${MAX_EVENT_DEPTH} levels`)
    }
    const bytes = Buffer.byteLength(text)
    if (bytes > maxEventBytes) return refused(`the event is ${bytes} bytes, over CAPTURE_MAX_EVENT_BYTES (${maxEventBytes})`)
    if (jsonNestedDeeperThan(text, MAX_EVENT_DEPTH)) return refused(`the event is nested deeper than ${MAX_EVENT_DEPTH} levels`)
    const { ok, first } = this.teamBytes.take(target.teamId, bytes)
    if (!ok) {
      const limit = Number(((teamBytesPerMinute ?? 0) / (1024 * 1024)).toFixed(2))
      return {
        reason: `the team's plugins captured ${limit} MB of events in this minute on this worker (PLUGIN_TEAM_CAPTURE_MB_PER_MINUTE); the rest of the minute's are dropped`,
        report: first,
      }
    }
    this.batcher.add([captured], [bytes]).catch((err: Error) => this.onError(target, captured, err))
    return null
  }

  /** CAPTURE_MAX_EVENT_BYTES: the sandbox refuses a name and properties longer than this together before the host reads them. */
  get maxEventBytes(): number {
    return this.limits.maxEventBytes
  }

  drain(): Promise<void> {
    return this.batcher.drain()
  }
}
