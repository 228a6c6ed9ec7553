import { hostFire } from './host-link'
import { stringSlice } from './intrinsics'

const MAX_MESSAGE = 16 * 1024

function formatValue(value: unknown): string {
  if (typeof value === 'string') return value
  if (value instanceof Error) return value.stack || `${value.name}: ${value.message}`
  if (typeof value === 'function') return `[Function ${value.name || 'anonymous'}]`
  if (typeof value === 'object' && value !== null) {
    try {
      return JSON.stringify(value)
    } catch {
      return Object.prototype.toString.call(value)
    }
  }
  return String(value)
}

function makeLogger(level: string): (...args: unknown[]) => void {
  return (...args: unknown[]) => {
    let message = args.map(formatValue).join(' ')
    if (message.length > MAX_MESSAGE) message = stringSlice(message, 0, MAX_MESSAGE) + '… (truncated)'
    hostFire('log', [level, message])
  }
}

export function createConsole(): Record<string, (...args: unknown[]) => void> {
  return {
    log: makeLogger('log'),
    info: makeLogger('info'),
    warn: makeLogger('warn'),
    error: makeLogger('error'),
    debug: makeLogger('debug'),
    trace: makeLogger('debug'),
  }
}
