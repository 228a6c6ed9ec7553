import { windowOver } from './window-over'

export interface CaptureLimits {
  /** Captures per event of a processEvent/onEvent call (PLUGIN_CAPTURES_PER_EVENT). */
  perEvent: number
  /** Captures per other call, and per minute outside calls (PLUGIN_CAPTURES_PER_CALL). */
  perCall: number
  /** Bytes of a captured event as capture takes it (CAPTURE_MAX_EVENT_BYTES). */
  maxEventBytes: number
}

/** One call's share: `events` is null for calls that are not about events (setupPlugin, jobs, …). */
export interface CaptureGrant {
  readonly allowance: number
  readonly events: number | null
  used: number
  reported: boolean
  callId?: number
}

/**
 * How many `posthog.capture` calls an instance may make. The sandbox tags a capture made while a
 * call's code runs synchronously with that call's id, and it is charged to that call alone. After
 * an `await` the sandbox cannot tell which call it is in: such captures draw on whichever call in
 * flight still has room, so calls that overlap capture together at most what they may capture
 * together. Outside calls (timers, callbacks) a per-minute allowance applies. Excess captures are
 * dropped and reported once per call. A capture whose name and properties are too long together is
 * dropped before the host parses them (`fits`).
 */
export class CaptureBudget {
  private readonly grants = new Set<CaptureGrant>()
  private readonly byCall = new Map<number, CaptureGrant>()
  private windowStart = 0
  private windowUsed = 0
  private windowReported = false

  constructor(
    private readonly limits: CaptureLimits,
    private readonly report: (message: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** `captured`: how many of the `events` are captures themselves, allowed one capture each (CallOptions.capturedEvents). */
  open(events: number | null, captured = 0): CaptureGrant {
    const { perCall, perEvent } = this.limits
    const deeper = events === null ? 0 : Math.max(0, Math.min(events, captured))
    const allowance = events === null ? perCall : (events - deeper) * perEvent + deeper * Math.min(1, perEvent)
    const grant: CaptureGrant = { allowance, events, used: 0, reported: false }
    this.grants.add(grant)
    return grant
  }

  /** The id the sandbox tags the call's captures with. */
  bind(callId: number, grant: CaptureGrant): void {
    if (!this.grants.has(grant)) return
    grant.callId = callId
    this.byCall.set(callId, grant)
  }

  close(grant: CaptureGrant): void {
    this.grants.delete(grant)
    if (grant.callId !== undefined) this.byCall.delete(grant.callId)
  }

  /**
   * Whether a capture named `event` whose properties are `chars` characters of JSON can be an event capture takes.
   * A character is at least one byte of the event, so a name and properties longer together than
   * CAPTURE_MAX_EVENT_BYTES are refused unread: otherwise the host's event loop parses them, and the worker's capturer
   * serialises, measures and scans the event again, only to refuse it, outside the isolate's limits.
   * Each one is reported.
   */
  fits(event: string, chars: number): boolean {
    const total = event.length + chars
    if (total <= this.limits.maxEventBytes) return true
    this.report(
      `posthog.capture(${JSON.stringify(event.slice(0, 200))}) dropped: its name and properties are ${total} characters, over CAPTURE_MAX_EVENT_BYTES ` +
        `(${this.limits.maxEventBytes} bytes for the whole event)`,
    )
    return false
  }

  /** Whether one more capture may go out now; reports the first one dropped. `callId`: the call that made it, when known. */
  take(callId: number | null): boolean {
    if (this.grants.size === 0) return this.takeBackground()
    const own = callId === null ? undefined : this.byCall.get(callId)
    const grant = own ?? [...this.grants].find((g) => g.used < g.allowance)
    if (grant && grant.used < grant.allowance) {
      grant.used++
      return true
    }
    const over = own ?? [...this.grants].find((g) => !g.reported)
    if (over && !over.reported) {
      // Said once per call; untagged captures over every allowance mark all the calls they drew on.
      if (!own) this.grants.forEach((g) => (g.reported = true))
      over.reported = true
      this.report(overCallMessage(over))
    }
    return false
  }

  private takeBackground(): boolean {
    const now = this.now()
    if (windowOver(now, this.windowStart, 60_000)) {
      this.windowStart = now
      this.windowUsed = 0
      this.windowReported = false
    }
    if (this.windowUsed < this.limits.perCall) {
      this.windowUsed++
      return true
    }
    if (!this.windowReported) {
      this.windowReported = true
      this.report(`posthog.capture called more than ${this.limits.perCall} times in one minute outside calls; the rest were dropped (PLUGIN_CAPTURES_PER_CALL)`)
    }
    return false
  }
}

function overCallMessage(grant: CaptureGrant): string {
  if (grant.events !== null) {
    return `posthog.capture called more than ${grant.allowance} times for ${grant.events} events in one call; the rest were dropped (PLUGIN_CAPTURES_PER_EVENT)`
  }
  return `posthog.capture called more than ${grant.allowance} times in one call; the rest were dropped (PLUGIN_CAPTURES_PER_CALL)`
}
