import { gunzipSync } from 'node:zlib'

import { CaptureError } from './capture-error'

const GZIP_MAGIC_0 = 0x1f
const GZIP_MAGIC_1 = 0x8b

/** Clients do not always say that they compressed (PostHog sniffs too), so the magic bytes decide. */
export function looksGzipped(bytes: Buffer): boolean {
  return bytes.length >= 2 && bytes[0] === GZIP_MAGIC_0 && bytes[1] === GZIP_MAGIC_1
}

/**
 * Inflate with a hard output cap: zlib stops at `maxBytes` instead of allocating whatever a gzip
 * bomb expands to, so an oversized body costs at most `maxBytes` of memory and answers 413.
 */
export function gunzipBounded(bytes: Buffer, maxBytes: number): Buffer {
  try {
    return gunzipSync(bytes, { maxOutputLength: maxBytes })
  } catch (err) {
    if (err instanceof RangeError && (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new CaptureError(413, 'payload_too_large', `decompressed body exceeds the ${maxBytes} byte limit`)
    }
    const reason = err instanceof Error ? err.message : String(err)
    throw new CaptureError(400, 'invalid_payload', `invalid gzip data: ${reason}`)
  }
}
