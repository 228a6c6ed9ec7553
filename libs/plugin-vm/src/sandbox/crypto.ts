import type { Buffer } from 'buffer'
import { runtimeBuffer } from './lazy-modules'
import { hostSync, hostWork } from './host-link'

/** node:crypto subset: hashing buffers input in the sandbox and asks the host once, at digest. */
type Encoding = 'utf8' | 'hex' | 'base64' | 'latin1' | 'binary' | 'base64url' | undefined

function toBytes(data: unknown, encoding?: Encoding): Uint8Array {
  if (typeof data === 'string') return new Uint8Array(runtimeBuffer().from(data, encoding ?? 'utf8'))
  if (data instanceof Uint8Array) return new Uint8Array(data)
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength))
  if (data instanceof ArrayBuffer) return new Uint8Array(data.slice(0))
  throw new TypeError('The "data" argument must be of type string or an instance of Buffer, TypedArray, or DataView')
}

class Digestable {
  private chunks: Uint8Array[] = []
  private done = false
  constructor(
    private readonly algorithm: string,
    private readonly key: Uint8Array | null,
  ) {
    // Fail at creation for unknown algorithms, like node does.
    hostWork('crypto.digest', [algorithm, key, []], key?.byteLength ?? 0)
  }
  update(data: unknown, encoding?: Encoding): this {
    if (this.done) throw new Error('Digest already called')
    this.chunks.push(toBytes(data, encoding))
    return this
  }
  digest(encoding?: Encoding): Buffer | string {
    if (this.done) throw new Error('Digest already called')
    this.done = true
    const size = this.chunks.reduce((sum, chunk) => sum + chunk.byteLength, this.key?.byteLength ?? 0)
    const out = runtimeBuffer().from(hostWork('crypto.digest', [this.algorithm, this.key, this.chunks], size) as Uint8Array)
    return encoding ? out.toString(encoding) : out
  }
  copy(): Digestable {
    const clone = new Digestable(this.algorithm, this.key)
    clone.chunks = [...this.chunks]
    return clone
  }
}

export function createCrypto(): Record<string, unknown> {
  const randomBytes = (size: number, callback?: (err: Error | null, buf: Buffer) => void): Buffer | undefined => {
    const buf = runtimeBuffer().from(hostSync('crypto.randomBytes', [Number(size)]) as Uint8Array)
    if (typeof callback !== 'function') return buf
    void Promise.resolve().then(() => callback(null, buf))
    return undefined
  }
  const getRandomValues = <T extends ArrayBufferView>(array: T): T => {
    const bytes = hostSync('crypto.randomBytes', [array.byteLength]) as Uint8Array
    new Uint8Array(array.buffer, array.byteOffset, array.byteLength).set(bytes)
    return array
  }
  return {
    createHash: (algorithm: string) => new Digestable(String(algorithm), null),
    createHmac: (algorithm: string, key: unknown) => new Digestable(String(algorithm), toBytes(key)),
    randomBytes,
    randomUUID: () => String(hostSync('crypto.randomUUID', [])),
    randomInt: (min: number, max?: number) => {
      const [lo, hi] = max === undefined ? [0, min] : [min, max]
      const bytes = hostSync('crypto.randomBytes', [6]) as Uint8Array
      return lo + (runtimeBuffer().from(bytes).readUIntBE(0, 6) % (hi - lo))
    },
    getRandomValues,
    timingSafeEqual: (a: Uint8Array, b: Uint8Array) => {
      if (a.length !== b.length) throw new RangeError('Input buffers must have the same byte length')
      let diff = 0
      for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i]
      return diff === 0
    },
    getHashes: () => hostSync('crypto.getHashes', []),
    webcrypto: { getRandomValues },
  }
}
