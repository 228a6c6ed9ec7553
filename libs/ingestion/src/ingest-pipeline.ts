import type { IngestBatch } from '@plugin-server/core'
import { insertEvents } from '@plugin-server/db'
import type { Pool } from 'pg'
import type { AfterStoreHook, BatchResult, BatchStep } from './interfaces'

/** Runs a batch through its steps and stores what is left; safe to run twice on the same batch. */
export class IngestPipeline {
  constructor(
    private readonly pool: Pool,
    private readonly steps: BatchStep[] = [],
    private readonly afterStore: AfterStoreHook[] = [],
  ) {}

  async process(batch: IngestBatch, batchId = 'adhoc'): Promise<BatchResult> {
    let events = batch.events
    for (const step of this.steps) events = await step.run(events)
    const stored = await insertEvents(this.pool, events)
    for (const hook of this.afterStore) await hook(events, batchId)
    return {
      received: batch.events.length,
      stored,
      duplicates: events.length - stored,
      dropped: batch.events.length - events.length,
    }
  }
}
