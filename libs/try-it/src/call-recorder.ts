import type { LogLevel } from '@plugin-server/plugin-vm'
import type { TryHostCall, TryLog } from './interfaces'
import { CALL_LIMITS, MAX_LOG_MESSAGE, Redactor } from './redactor'

/** A plugin logging or calling the host in a loop must not turn the answer into megabytes. */
export const MAX_ENTRIES_PER_STEP = 200

export interface StepRecord {
  logs: TryLog[]
  host_calls: TryHostCall[]
}

/**
 * What one plugin did during the current step. Everything is redacted when recorded; the runner
 * takes the record after each step, so a step shows what happened while it ran.
 */
export class CallRecorder {
  private logs: TryLog[] = []
  private calls: TryHostCall[] = []
  private droppedLogs = 0
  private droppedCalls = 0

  constructor(readonly redactor: Redactor) {}

  log(level: LogLevel, message: string): void {
    if (this.logs.length >= MAX_ENTRIES_PER_STEP) return void this.droppedLogs++
    this.logs.push({ level, message: this.redactor.text(message, MAX_LOG_MESSAGE) })
  }

  /** Records a call and returns the entry, so its result or error can be filled in when it settles. */
  call(call: string, args: unknown[], performed: boolean): TryHostCall {
    const entry: TryHostCall = { call, args: args.map((a) => this.redactor.json(a, CALL_LIMITS)), performed }
    if (this.calls.length >= MAX_ENTRIES_PER_STEP) this.droppedCalls++
    else this.calls.push(entry)
    return entry
  }

  settle(entry: TryHostCall, outcome: { result: unknown } | { error: unknown }): void {
    if ('result' in outcome) {
      if (outcome.result !== undefined) entry.result = this.redactor.json(outcome.result, CALL_LIMITS)
    } else {
      const e = outcome.error as { message?: unknown }
      entry.error = this.redactor.text(String(e?.message ?? outcome.error), CALL_LIMITS.maxString)
    }
  }

  /** A request the dry run did not send: marked as such, not as an error. */
  refuse(entry: TryHostCall, reason: string): void {
    entry.not_sent = this.redactor.text(reason, CALL_LIMITS.maxString)
  }

  take(): StepRecord {
    const record = { logs: this.logs, host_calls: this.calls }
    if (this.droppedLogs > 0) record.logs.push({ level: 'warn', message: `… ${this.droppedLogs} more log lines not shown` })
    if (this.droppedCalls > 0) record.host_calls.push({ call: '…', args: [`${this.droppedCalls} more host calls not shown`], performed: false })
    this.logs = []
    this.calls = []
    this.droppedLogs = 0
    this.droppedCalls = 0
    return record
  }
}
