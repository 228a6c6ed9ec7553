import type { JobsOptions } from 'bullmq'

/**
 * The next run of a chain, added when a run starts. While the run is active BullMQ only stores it
 * (keepLastIfActive; a later add replaces it) and creates it when the run finishes, delayed from that
 * moment: single flight comes from the deduplication id, and the delay is aimed at the next due time.
 */
export function successorOptions(chain: string, delayMs: number): JobsOptions {
  return { delay: delayMs, deduplication: { id: chain, keepLastIfActive: true } }
}

/**
 * The head of a new or lost chain. Without keepLastIfActive: if the chain exists after all (another
 * replica created it a moment ago, even if it is already running), this add is simply ignored.
 */
export function chainHeadOptions(chain: string, delayMs: number): JobsOptions {
  return { delay: delayMs, deduplication: { id: chain } }
}
