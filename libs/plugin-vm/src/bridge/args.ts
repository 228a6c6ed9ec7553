import { Callback } from './callback'
import { Facade } from './facade'

const MAX_DEPTH = 64

/**
 * The arguments of one bridged call, already decoded (plugin functions are Callbacks, bridged
 * objects the plugin passed back are Facades), with checks that name the call and the argument.
 */
export class Args {
  private readonly values: unknown[]

  constructor(
    values: readonly unknown[],
    readonly what: string,
  ) {
    this.values = [...values]
  }

  get length(): number {
    return this.values.length
  }

  at(index: number): unknown {
    return this.values[index]
  }

  /** Takes a trailing plugin function off the list (node-style `(err, result) => …` APIs). */
  takeCallback(): Callback | undefined {
    const last = this.values[this.values.length - 1]
    if (!(last instanceof Callback)) return undefined
    this.values.pop()
    return last
  }

  callback(index: number, name: string): Callback {
    const value = this.values[index]
    if (!(value instanceof Callback)) throw this.error(`${name} must be a function`)
    return value
  }

  string(index: number, name: string): string {
    const value = this.values[index]
    if (typeof value !== 'string') throw this.error(`${name} must be a string`)
    return value
  }

  /** Plain data (no functions, no bridged objects), as an SDK may keep or mutate it. */
  data(index: number, name: string): unknown {
    const value = this.values[index]
    this.checkData(value, name, 0)
    return value
  }

  /** A plain object or undefined. */
  record(index: number, name: string): Record<string, unknown> | undefined {
    const value = this.data(index, name)
    if (value === undefined || value === null) return undefined
    if (typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array || value instanceof Date) throw this.error(`${name} must be an object`)
    return value as Record<string, unknown>
  }

  error(message: string): TypeError {
    return new TypeError(`${this.what}: ${message}`)
  }

  checkData(value: unknown, name: string, depth: number): void {
    if (value === null || typeof value !== 'object') {
      if (typeof value === 'function') throw this.error(`${name} must be plain data`)
      return
    }
    if (value instanceof Callback) throw this.error(`${name} must be plain data, not a function`)
    if (value instanceof Facade) throw this.error(`${name} must be plain data, not a ${value.typeName}`)
    if (depth >= MAX_DEPTH) throw this.error(`${name} is nested too deeply`)
    if (value instanceof Uint8Array || value instanceof Date || value instanceof ArrayBuffer) return
    for (const [key, inner] of Object.entries(value)) this.checkData(inner, `${name}.${key}`, depth + 1)
  }
}
