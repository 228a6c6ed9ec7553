/**
 * Roughly the size of `value` once JSON-encoded (strings in UTF-8, byte arrays by length — or, with
 * `typedArraysAsJson`, as JSON writes them, for values that will be JSON-encoded), for checking
 * limits. Stops as soon as the count passes `limit`, so a 40 MB value costs no more to refuse than
 * a value just over the limit.
 */
export function byteSize(value: unknown, limit: number, typedArraysAsJson = false, utf16 = false): number {
  // With `utf16`, strings count their UTF-16 units (what the sandbox counts), not their UTF-8 bytes.
  const stringSize = utf16 ? (text: string) => text.length + 2 : utf8Size
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
    if (typeof v === 'number') {
      total += String(v).length
      return
    }
    if (typeof v === 'bigint') {
      total += bigintDigits(v)
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
    // Its visits add to the total themselves (a compound assignment would read the total before them).
    const hidden = hiddenSize(v, visit)
    total += 2 + hidden
    if (v instanceof String) return
    for (const [key, item] of Object.entries(v as Record<string, unknown>)) {
      total += key.length + 4
      visit(item)
      if (total > limit) return
    }
  }
  visit(value)
  return total
}

function utf8Size(value: string, limit: number): number {
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

/**
 * What String() (a raw cache value, a key) may make of an object whose contents are not its own
 * enumerable properties, which structured clone carries across: an Error's message and stack, a
 * RegExp's source, a boxed string or BigInt, a Map's or Set's entries. Counted as nothing, a 50 MB
 * message passed every bound as 2 bytes and was then made into text once per call.
 */
function hiddenSize(v: object, visit: (item: unknown) => void): number {
  if (v instanceof Error) {
    visit(v.name)
    visit(v.message)
    visit(v.stack)
    return 0
  }
  if (v instanceof RegExp) return v.source.length + v.flags.length
  if (v instanceof String || v instanceof BigInt) visit(v.valueOf())
  else if (v instanceof Map)
    for (const [key, item] of v) {
      visit(key)
      visit(item)
    }
  else if (v instanceof Set) for (const item of v) visit(item)
  return 0
}

/**
 * A BigInt's decimal digits, from its hexadecimal ones: String() of one of 2^24 bits took 3.4 s on
 * the event loop every team shares (decimal conversion is superlinear; hexadecimal is linear).
 */
function bigintDigits(value: bigint): number {
  const hex = (value < 0n ? -value : value).toString(16).length
  return Math.ceil(hex * Math.log10(16)) + (value < 0n ? 1 : 0)
}
