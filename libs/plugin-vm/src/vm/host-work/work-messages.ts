/** What the main thread and a host work thread say to each other. */
export interface WorkRequest {
  id: number
  op: string
  args: unknown[]
}

export type WorkReply =
  { id: number; ok: true; value: unknown } | { id: number; ok: false; error: { name: string; message: string; code?: unknown }; value?: undefined }

/**
 * Byte arrays that own their whole buffer move instead of being copied. Views into a shared
 * buffer (Node's small-Buffer pool) are copied: moving the pool would take other Buffers with it.
 */
export function transferList(...values: unknown[]): ArrayBuffer[] {
  const list: ArrayBuffer[] = []
  const add = (v: unknown) => {
    if (v instanceof Uint8Array && v.buffer instanceof ArrayBuffer && v.byteOffset === 0 && v.byteLength === v.buffer.byteLength && !list.includes(v.buffer))
      list.push(v.buffer)
  }
  for (const value of values) {
    if (Array.isArray(value)) value.forEach((v) => (Array.isArray(v) ? v.forEach(add) : add(v)))
    else add(value)
  }
  return list
}
