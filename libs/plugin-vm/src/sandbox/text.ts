import { runtimeBuffer } from './lazy-modules'

export class TextEncoder {
  readonly encoding = 'utf-8'
  encode(input = ''): Uint8Array {
    const bytes = runtimeBuffer().from(String(input), 'utf8')
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length)
  }
}

export class TextDecoder {
  readonly encoding: string
  constructor(label = 'utf-8') {
    const normalized = String(label).toLowerCase()
    if (normalized !== 'utf-8' && normalized !== 'utf8') throw new RangeError(`TextDecoder: encoding ${label} is not supported`)
    this.encoding = 'utf-8'
  }
  decode(input?: ArrayBuffer | ArrayBufferView): string {
    if (input === undefined) return ''
    if (ArrayBuffer.isView(input)) return runtimeBuffer().from(input.buffer, input.byteOffset, input.byteLength).toString('utf8')
    return runtimeBuffer().from(input).toString('utf8')
  }
}

export function btoa(input: string): string {
  const text = String(input)

  if (/[^\u0000-\u00ff]/.test(text)) throw new Error('btoa: string contains characters outside of the Latin1 range')
  return runtimeBuffer().from(text, 'latin1').toString('base64')
}

export function atob(input: string): string {
  return runtimeBuffer().from(String(input).replace(/\s+/g, ''), 'base64').toString('latin1')
}
