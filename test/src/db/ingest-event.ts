import { randomUUID } from 'node:crypto'
import type { IngestEvent } from '@plugin-server/core'

/** An event as capture would queue it, for team 1 unless told otherwise. */
export function ingestEvent(overrides: Partial<IngestEvent> = {}): IngestEvent {
  const now = new Date().toISOString()
  return {
    uuid: randomUUID(),
    team_id: 1,
    event: '$pageview',
    distinct_id: 'user-1',
    properties: { a: 1 },
    timestamp: now,
    now,
    sent_at: null,
    ip: '127.0.0.1',
    site_url: '',
    ...overrides,
  }
}
