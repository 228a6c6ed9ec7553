/** RetryError and the conversion of anything thrown into a plain, copyable error record. */
import { bare, errorPrototype, isPrototypeOf, stringify, stringSlice, toStringValue } from './intrinsics'

export class RetryError extends Error {
  constructor(message?: string) {
    super(message)
    this.name = 'RetryError'
  }
}

export interface ErrorRecord {
  name: string
  message: string
  isRetryError: boolean
  stack?: string
}

/**
 * A record without a prototype, so serialising it cannot be redirected by Object.prototype.toJSON.
 * Only built-ins captured before plugin code ran are used here: a plugin's error must be reported
 * as its own even when it replaced String, JSON or Error's Symbol.hasInstance.
 */
export function errorRecord(name: string, message: string, isRetryError = false, stack?: string): ErrorRecord {
  const record = bare<ErrorRecord>()
  record.name = name
  record.message = message
  record.isRetryError = isRetryError
  if (stack !== undefined) record.stack = stack
  return record
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined was thrown'
  if (value === null) return 'null was thrown'
  if (typeof value === 'string') return value
  if (typeof value !== 'object') return toStringValue(value)
  try {
    return 'non-Error thrown: ' + stringify(value)
  } catch {
    return 'non-Error object thrown'
  }
}

/** A stack getter (Error.prepareStackTrace) may throw or return anything; the message survives it. */
function stackOf(value: object): string | undefined {
  try {
    const stack = (value as { stack?: unknown }).stack
    return typeof stack === 'string' ? stringSlice(stack, 0, 4000) : undefined
  } catch {
    return undefined
  }
}

/** Plugins throw strings, undefined and arbitrary objects; all become a record the host can read. */
export function toErrorRecord(value: unknown): ErrorRecord {
  try {
    if (typeof value === 'object' && value !== null && isPrototypeOf(errorPrototype, value)) {
      const error = value as Error
      const name = toStringValue(error.name || 'Error')
      const isRetry = isPrototypeOf(RetryError.prototype, value) || name === 'RetryError'
      return errorRecord(name, toStringValue(error.message), isRetry, stackOf(error))
    }
    if (typeof value === 'object' && value !== null) {
      // Each field read once: a getter could answer differently the second time.
      const { name: rawName, message } = value as { name?: unknown; message?: unknown }
      if (typeof message === 'string') {
        const name = typeof rawName === 'string' ? rawName : 'Error'
        return errorRecord(name, message, name === 'RetryError')
      }
    }
    return errorRecord('Error', describe(value))
  } catch {
    // Getters on a hostile thrown object may throw themselves.
    return errorRecord('Error', 'unreadable value thrown')
  }
}
