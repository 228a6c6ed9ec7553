import * as crypto from 'crypto'
import * as url from 'url'
import * as zlib from 'zlib'
import { ZLIB_METHODS } from '../modules'

/** Synchronous host services behind the sandbox's crypto, zlib, url and jsonwebtoken shims. */
export const ZLIB_MAX_OUTPUT = 50 * 1024 * 1024
/** zlib's output when it runs inline: a 92-byte brotli input inflates to 49 MB, 145 ms of the host's thread. */
export const ZLIB_INLINE_MAX_OUTPUT = 1024 * 1024

type ZlibSync = (data: Buffer, options?: object) => Buffer

/**
 * Bytes for the isolate, in an ArrayBuffer of their own: a copy into the isolate (or across to a
 * work thread) takes a view's whole buffer, and Node's results are often views — zlib's into its
 * 64 KiB output chunk or the process's small-Buffer pool — whose other bytes are the host's memory
 * (another team's JSON Web Token secret, read back by a plugin that way).
 */
export function bytes(value: Uint8Array): Uint8Array {
  if (value.byteOffset === 0 && value.byteLength === value.buffer.byteLength) return new Uint8Array(value.buffer)
  return new Uint8Array(value)
}

function toKey(value: unknown): unknown {
  return value instanceof Uint8Array ? Buffer.from(value) : value
}

interface JwtModule {
  sign(payload: unknown, secret: unknown, options?: object): string
  verify(token: string, secret: unknown, options?: object): unknown
  decode(token: string, options?: object): unknown
}

let jwt: JwtModule | undefined

function runJwt(op: string, args: unknown[]): unknown {
  jwt ??= require('jsonwebtoken') as JwtModule
  const [first, second, options] = args
  if (op === 'sign') return jwt.sign(first, toKey(second), (options as object) ?? undefined)
  if (op === 'verify') return jwt.verify(String(first), toKey(second), (options as object) ?? undefined)
  if (op === 'decode') return jwt.decode(String(first), (second as object) ?? undefined)
  throw new Error(`unknown jsonwebtoken operation ${op}`)
}

function runUrl(op: string, args: unknown[]): unknown {
  const [first, second] = args
  if (op === 'parse') {
    const parsed = url.parse(String(first), Boolean(second))
    return JSON.parse(JSON.stringify({ ...parsed, query: parsed.query }))
  }
  if (op === 'format') return url.format(first as url.UrlObject)
  if (op === 'resolve') return url.resolve(String(first), String(second))
  if (op === 'domainToASCII') return url.domainToASCII(String(first))
  throw new Error(`unknown url operation ${op}`)
}

/**
 * Work whose cost grows with its input (zlib, hashes, JSON Web Tokens, url parsing): small inputs
 * run inline on the host, larger ones in a worker thread (see host-work/), so a plugin cannot stall
 * the event loop. The worker thread runs these same functions. zlib's 4th argument caps its output
 * below ZLIB_MAX_OUTPUT (inline runs).
 */
export const WORK_OPS: Record<string, (args: unknown[]) => unknown> = {
  'crypto.digest': ([algorithm, key, chunks]) => {
    const hash = key ? crypto.createHmac(String(algorithm), Buffer.from(key as Uint8Array)) : crypto.createHash(String(algorithm))
    for (const chunk of chunks as Uint8Array[]) hash.update(chunk)
    return bytes(hash.digest())
  },
  zlib: ([method, data, options, maxOutput]) => {
    if (!(ZLIB_METHODS as readonly string[]).includes(String(method))) throw new Error(`unknown zlib method ${String(method)}`)
    const run = (zlib as unknown as Record<string, ZlibSync>)[`${String(method)}Sync`]
    const maxOutputLength = Math.min(Number(maxOutput) || ZLIB_MAX_OUTPUT, ZLIB_MAX_OUTPUT)
    return bytes(run(Buffer.from(data as Uint8Array), { ...zlibOptions(options), maxOutputLength }))
  },
  jwt: ([op, ...args]) => runJwt(String(op), args),
  url: ([op, ...args]) => runUrl(String(op), args),
}

/** zlib's options that shape the output, and no others: `info` would hand back the engine, not bytes. */
const ZLIB_OPTIONS = ['flush', 'finishFlush', 'chunkSize', 'windowBits', 'level', 'memLevel', 'strategy', 'dictionary', 'params']
/** zlib allocates a chunk of this size up front, whatever the input: a plugin's 50 MB one was 50 MB of the host per call. */
const ZLIB_MAX_CHUNK = 64 * 1024

export function zlibOptions(options: unknown): Record<string, unknown> {
  const given = (typeof options === 'object' && options !== null ? options : {}) as Record<string, unknown>
  const picked = Object.fromEntries(ZLIB_OPTIONS.filter((key) => given[key] !== undefined).map((key) => [key, given[key]]))
  if (typeof picked.chunkSize === 'number') picked.chunkSize = Math.min(picked.chunkSize, ZLIB_MAX_CHUNK)
  return picked
}

/** How a work operation is named in errors, as the plugin called it. */
export function workLabel(op: string, args: unknown[]): string {
  if (op === 'zlib') return `zlib.${String(args[0])}`
  if (op === 'jwt') return `jsonwebtoken.${String(args[0])}`
  if (op === 'url') return `url.${String(args[0])}`
  return args[1] ? 'crypto.createHmac' : 'crypto.createHash'
}

/** Cheap synchronous host services: answered inline, whatever the plugin passes. */
export const SYNC_OPS: Record<string, (args: unknown[]) => unknown> = {
  'crypto.randomBytes': ([size]) => {
    const n = Number(size)
    if (!Number.isInteger(n) || n < 0 || n > 65536) throw new RangeError('randomBytes: size must be an integer between 0 and 65536')
    return bytes(crypto.randomBytes(n))
  },
  'crypto.randomUUID': () => crypto.randomUUID(),
  'crypto.getHashes': () => crypto.getHashes(),
  'zlib.constants': () => ({ ...zlib.constants }),
}
