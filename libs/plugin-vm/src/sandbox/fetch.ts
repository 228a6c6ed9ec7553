import type { Buffer } from 'buffer'
import { runtimeBuffer } from './lazy-modules'
import { hostRequest } from './host-link'
import { bare, NativeUint8Array, objectKeys, toStringValue, typedArrayByteLength } from './intrinsics'

interface ResponseData {
  status: number
  statusText: string
  url: string
  headers: [string, string][]
  body: Uint8Array
}

export class Headers {
  private map = new Map<string, string>()
  constructor(init?: Record<string, string> | [string, string][] | Headers) {
    if (!init) return
    const pairs = init instanceof Headers ? [...init.entries()] : Array.isArray(init) ? init : Object.entries(init)
    for (const [k, v] of pairs) this.append(k, v)
  }
  append(name: string, value: string): void {
    const key = String(name).toLowerCase()
    const prev = this.map.get(key)
    this.map.set(key, prev === undefined ? String(value) : `${prev}, ${value}`)
  }
  set(name: string, value: string): void {
    this.map.set(String(name).toLowerCase(), String(value))
  }
  get(name: string): string | null {
    return this.map.get(String(name).toLowerCase()) ?? null
  }
  has(name: string): boolean {
    return this.map.has(String(name).toLowerCase())
  }
  delete(name: string): void {
    this.map.delete(String(name).toLowerCase())
  }
  forEach(callback: (value: string, key: string) => void): void {
    this.map.forEach((v, k) => callback(v, k))
  }
  entries(): IterableIterator<[string, string]> {
    return this.map.entries()
  }
  keys(): IterableIterator<string> {
    return this.map.keys()
  }
  values(): IterableIterator<string> {
    return this.map.values()
  }
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.map.entries()
  }
  raw(): Record<string, string[]> {
    return Object.fromEntries([...this.map].map(([k, v]) => [k, [v]]))
  }
}

/** The node-fetch Response surface plugins use; the body is already fully read by the host. */
export class Response {
  readonly status: number
  readonly statusText: string
  readonly ok: boolean
  readonly url: string
  readonly headers: Headers
  private readonly data: Buffer
  bodyUsed = false

  constructor(data: ResponseData) {
    this.status = data.status
    this.statusText = data.statusText
    this.ok = data.status >= 200 && data.status < 300
    this.url = data.url
    this.headers = new Headers(data.headers)
    this.data = runtimeBuffer().from(data.body)
  }
  async text(): Promise<string> {
    this.bodyUsed = true
    return this.data.toString('utf8')
  }
  async json(): Promise<unknown> {
    return JSON.parse(await this.text())
  }
  async buffer(): Promise<Buffer> {
    this.bodyUsed = true
    return this.data
  }
  async arrayBuffer(): Promise<ArrayBuffer> {
    this.bodyUsed = true
    return this.data.buffer.slice(this.data.byteOffset, this.data.byteOffset + this.data.length) as ArrayBuffer
  }
}

interface FetchInit {
  method?: string
  headers?: Record<string, string> | [string, string][] | Headers
  body?: unknown
  timeout?: number
}

/** The body as it crosses: a string, or a copy of the bytes of a fixed length (made with the built-in constructor). */
function encodeBody(body: unknown): string | Uint8Array | undefined {
  if (body === undefined || body === null) return undefined
  if (typeof body === 'string') return body
  if (body instanceof Uint8Array) return new NativeUint8Array(body)
  // A view first (it may track a resizable buffer), then its copy.
  if (body instanceof ArrayBuffer) return new NativeUint8Array(new NativeUint8Array(body))
  if (typeof (body as { toString?: unknown }).toString === 'function' && body.constructor?.name === 'URLSearchParams') {
    return String(body)
  }
  throw new TypeError('fetch: body must be a string, Buffer, Uint8Array or URLSearchParams')
}

export function toResponse(data: unknown): Response {
  return new Response(data as ResponseData)
}

export async function fetch(url: unknown, init: FetchInit = {}): Promise<Response> {
  const target = toStringValue(typeof url === 'object' && url !== null && 'url' in url ? (url as { url: unknown }).url : url)
  // What crosses is made here of strings and a copy of the body, measured as made (hostRequest
  // bounds it): what the plugin passed, or replaced on the way (Object.fromEntries, a getter, a
  // typed array's byteLength), cannot make it larger than counted.
  const body = encodeBody(init.body)
  let size = target.length + (body === undefined ? 0 : typeof body === 'string' ? body.length : typedArrayByteLength(body))
  const shown = Object.fromEntries(new Headers(init.headers).entries()) as Record<string, unknown>
  const headers = bare<Record<string, string>>()
  const names = objectKeys(shown)
  for (let i = 0; i < names.length; i++) {
    const name = toStringValue(names[i])
    const value = toStringValue(shown[name])
    headers[name] = value
    size += name.length + value.length
  }
  const request = bare<Record<string, unknown>>()
  request.method = toStringValue(init.method ?? 'GET')
  request.headers = headers
  request.body = body
  request.timeoutMs = typeof init.timeout === 'number' ? init.timeout : undefined
  return toResponse(await hostRequest('fetch', [target, request], size, 'fetch'))
}
