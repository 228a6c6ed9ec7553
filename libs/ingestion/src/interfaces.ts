import type { IngestEvent } from '@plugin-server/core'

/**
 * One stage of the per-batch pipeline (the plugin chain is one). It receives the whole batch so a
 * stage can cross expensive boundaries (isolates, network) once per batch, not once per event.
 */
export interface BatchStep {
  name: string
  run: (events: IngestEvent[]) => Promise<IngestEvent[]>
}

export interface BatchResult {
  received: number
  stored: number
  /** Rows already present: a redelivered batch, or a client that sent the same uuid twice. */
  duplicates: number
  dropped: number
}

/** Runs once a batch's events are committed (hand-off to exporters); a failure retries the whole batch. */
export type AfterStoreHook = (events: IngestEvent[], batchId: string) => Promise<void>
