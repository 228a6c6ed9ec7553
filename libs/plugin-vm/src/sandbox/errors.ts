/** RetryError and the conversion of anything thrown into a plain, copyable error record. */

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

function describe(value: unknown): string {
  if (value === undefined) return 'undefined was thrown'
  if (value === null) return 'null was thrown'
  if (typeof value === 'string') return value
  if (typeof value !== 'object') return String(value)
  try {
    return `non-Error thrown: ${JSON.stringify(value)}`
  } catch {
    return 'non-Error object thrown'
  }
}

/** Plugins throw strings, undefined and arbitrary objects; all become a record the host can read. */
export function toErrorRecord(value: unknown): ErrorRecord {
  try {
    if (value instanceof Error) {
      return {
        name: String(value.name || 'Error'),
        message: String(value.message),
        isRetryError: value instanceof RetryError || value.name === 'RetryError',
        stack: typeof value.stack === 'string' ? value.stack.slice(0, 4000) : undefined,
      }
    }
    const maybe = value as { name?: unknown; message?: unknown } | null
    if (maybe && typeof maybe === 'object' && typeof maybe.message === 'string') {
      const name = typeof maybe.name === 'string' ? maybe.name : 'Error'
      return { name, message: maybe.message, isRetryError: name === 'RetryError' }
    }
    return { name: 'Error', message: describe(value), isRetryError: false }
  } catch {
    // Getters on a hostile thrown object may throw themselves.
    return { name: 'Error', message: 'unreadable value thrown', isRetryError: false }
  }
}
