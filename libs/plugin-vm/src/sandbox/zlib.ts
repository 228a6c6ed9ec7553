import type { Buffer } from 'buffer'
import { runtimeBuffer } from './lazy-modules'
import { ZLIB_DECOMPRESS_METHODS, ZLIB_METHODS } from '../modules'
import { hostSync, hostWork } from './host-link'

function input(data: unknown): Uint8Array {
  if (typeof data === 'string') return new Uint8Array(runtimeBuffer().from(data, 'utf8'))
  if (data instanceof Uint8Array) return new Uint8Array(data)
  if (data instanceof ArrayBuffer) return new Uint8Array(data.slice(0))
  throw new TypeError('zlib: input must be a string, Buffer or Uint8Array')
}

/** zlib's one-shot API (sync and callback forms, both run at the call); streaming zlib is not offered. */
export function createZlib(): Record<string, unknown> {
  const zlib: Record<string, unknown> = { constants: hostSync('zlib.constants', []) }
  for (const method of ZLIB_METHODS) {
    const run = (data: unknown, options?: unknown) => {
      const bytes = input(data)
      const size = ZLIB_DECOMPRESS_METHODS.includes(method) ? Infinity : bytes.byteLength
      return runtimeBuffer().from(hostWork('zlib', [method, bytes, typeof options === 'object' ? options : undefined], size) as Uint8Array)
    }
    zlib[`${method}Sync`] = run
    zlib[method] = (data: unknown, options: unknown, callback?: (err: Error | null, out?: Buffer) => void) => {
      const cb = (typeof options === 'function' ? options : callback) as (err: Error | null, out?: Buffer) => void
      let result: Buffer | undefined
      let error: Error | null = null
      try {
        result = run(data, typeof options === 'function' ? undefined : options)
      } catch (e) {
        error = e as Error
      }
      void Promise.resolve().then(() => cb(error, result))
    }
  }
  return zlib
}
