import type { IngestEvent } from '@plugin-server/core'
import type { BatchStep } from './interfaces'

/** Postgres text and jsonb cannot hold U+0000; clients do send it, so it is removed rather than failing the batch. */
export const sanitizeStep: BatchStep = {
  name: 'sanitize',
  run: async (events) => events.map(sanitizeEvent),
}

function sanitizeEvent(event: IngestEvent): IngestEvent {
  const text = JSON.stringify(event)
  return text.includes('\\u0000') ? (JSON.parse(text.replace(/\\u0000/g, '')) as IngestEvent) : event
}
