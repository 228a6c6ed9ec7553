/**
 * Roughly the size of `value` once JSON-encoded (strings in UTF-8, byte arrays by length — or, with
 * `typedArraysAsJson`, as JSON writes them, for values that will be JSON-encoded), for checking
 * limits. Stops as soon as the count passes `limit`, so a 40 MB value costs no more to refuse than
 * a value just over the limit.
 */
export function byteSize(value: unknown, limit: number, typedArraysAsJson = false): number {
  // Most values checked are strings (every cache and storage key): no walk, no set of seen objects.
  if (typeof value === 'string') return stringSize(value, limit)
  let total = 0
  const seen = new Set<object>()
  const visit = (v: unknown): void => {
    if (total > limit) return
    if (typeof v === 'string') {
      total += stringSize(v, limit)
      return
    }
    if (v === null || v === undefined || typeof v === 'boolean') {
      total += 5
      return
    }
    if (typeof v === 'number' || typeof v === 'bigint') {
      total += String(v).length
      return
    }
    if (typeof v !== 'object') return
    if (ArrayBuffer.isView(v)) {
      total += typedArraysAsJson ? typedArrayJsonSize(v, limit - total) : v.byteLength
      return
    }
    if (v instanceof ArrayBuffer) {
      total += v.byteLength
      return
    }
    // Structured clone keeps cycles; JSON would refuse them, so counting each object once is enough.
    if (seen.has(v)) return
    seen.add(v)
    if (Array.isArray(v)) {
      total += 2
      for (const item of v) {
        visit(item)
        total += 1
        if (total > limit) return
      }
      return
    }
    total += 2
    for (const [key, item] of Object.entries(v as Record<string, unknown>)) {
      total += key.length + 4
      visit(item)
      if (total > limit) return
    }
  }
  visit(value)
  return total
}

function stringSize(value: string, limit: number): number {
  // UTF-8 never takes fewer bytes than UTF-16 code units, so the cheap length decides long strings
  // (with the quotes too: StoreBounds.key takes them off, and a key of limit + 2 characters passed).
  return (value.length > limit ? value.length : Buffer.byteLength(value, 'utf8')) + 2
}

/**
 * A typed array as JSON encodes it — `{"0":255,"1":255,…}`, ~13 bytes per element of a 1 MiB
 * Uint8Array —, not its byte length, which would let a value 13 times the limit through to the
 * host's encoding. A DataView encodes as `{}`.
 */
function typedArrayJsonSize(view: ArrayBufferView, limit: number): number {
  if (!('length' in view)) return 2
  const items = view as unknown as ArrayLike<number | bigint>
  let total = 2
  for (let i = 0; i < items.length && total <= limit; i++) total += String(i).length + String(items[i]).length + 4
  return total
}
