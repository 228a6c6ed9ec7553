import type { Buffer } from 'buffer'
import { runtimeBuffer } from './lazy-modules'
import { hostRequest } from './host-link'

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

function encodeBody(body: unknown): string | Uint8Array | undefined {
  if (body === undefined || body === null) return undefined
  if (typeof body === 'string') return body
  if (body instanceof Uint8Array) return new Uint8Array(body)
  if (body instanceof ArrayBuffer) return new Uint8Array(body)
  if (typeof (body as { toString?: unknown }).toString === 'function' && body.constructor?.name === 'URLSearchParams') {
    return String(body)
  }
  throw new TypeError('fetch: body must be a string, Buffer, Uint8Array or URLSearchParams')
}

export function toResponse(data: unknown): Response {
  return new Response(data as ResponseData)
}

export async function fetch(url: unknown, init: FetchInit = {}): Promise<Response> {
  const headers = Object.fromEntries(new Headers(init.headers).entries())
  const request = { method: init.method ?? 'GET', headers, body: encodeBody(init.body), timeoutMs: init.timeout }
  const target = typeof url === 'object' && url !== null && 'url' in url ? String((url as { url: unknown }).url) : String(url)
  let size = target.length + (request.body instanceof Uint8Array ? request.body.byteLength : (request.body?.length ?? 0))
  for (const name in headers) size += name.length + headers[name].length
  return toResponse(await hostRequest('fetch', [target, request], size, 'fetch'))
}
