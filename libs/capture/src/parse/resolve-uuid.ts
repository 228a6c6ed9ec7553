import { randomUUID } from 'node:crypto'

import { CaptureError } from './capture-error'

/** Any RFC 4122 layout; posthog-node sends v7, posthog-js v7 or v4, so the version is not checked. */
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * Keep the client's uuid — it is the dedup key when a client retries a batch — but reject a
 * malformed one instead of inventing a new one, which would silently break that dedup.
 */
export function resolveUuid(value: unknown, index: number): string {
  if (value === undefined || value === null || value === '') return randomUUID()
  if (typeof value !== 'string' || !UUID_RE.test(value)) {
    throw new CaptureError(400, 'invalid_uuid', `event at index ${index} has an invalid uuid`, 'uuid')
  }
  return value.toLowerCase()
}
