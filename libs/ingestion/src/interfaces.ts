import type { IngestEvent } from '@plugin-server/core'

/**
 * One stage of the per-batch pipeline (the plugin chain is one). It receives one team's events of
 * a batch at once, so a stage can cross expensive boundaries (isolates, network) once per batch
 * and team, not once per event; teams of the same batch run through it concurrently.
 */
export interface BatchStep {
  name: string
  run: (events: IngestEvent[]) => Promise<IngestEvent[]>
  /**
   * Several parts of one team in one pass (IngestPipeline joins the parts that waited for their
   * team's lease): each part's events as the step left them, in its order. A step without it runs
   * each part on its own.
   */
  runParts?: (parts: IngestEvent[][]) => Promise<IngestEvent[][]>
}

export interface BatchResult {
  received: number
  stored: number
  /** Rows already present: a redelivered batch, a client that sent the same uuid twice, or a plugin that gave events one uuid. */
  duplicates: number
  dropped: number
  /** Events of teams whose part kept failing, handed to a new ingest job of their own (see ingest-consumer.ts). */
  requeued: number
}

/** Runs once a team's events of a batch are committed (hand-off to exporters); a failure fails that team's part. */
export type AfterStoreHook = (events: IngestEvent[], batchId: string) => Promise<void>

/** Where a batch's time goes in IngestPipeline (`ingest_stage_seconds`). */
export type IngestStage = 'wait' | 'steps' | 'store'

/**
 * Told how long each stage took: `wait` once per batch of one team, for its team's lease (0 when
 * the team had a free slot); `steps` once per pass through the steps (a team's part, or a waiting
 * group's parts together); `store` once per stored part (insert and after-store hooks).
 */
export type StageObserver = (stage: IngestStage, seconds: number) => void
