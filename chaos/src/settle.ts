export interface SettleState {
  done: boolean
  /** Grows while the fleet still makes progress (events stored, exported, jobs run). */
  progress: number
}

/**
 * Polls until `done`, or until nothing moved for `quietMs` (something is lost for good, and
 * waiting longer would not find it), or `timeoutMs` passed. Resolves with whether it was done.
 */
export async function settle(poll: () => Promise<SettleState>, options: { quietMs: number; timeoutMs: number; intervalMs: number }): Promise<boolean> {
  const deadline = Date.now() + options.timeoutMs
  let progress = -1
  let movedAt = Date.now()
  for (;;) {
    const state = await poll().catch(() => ({ done: false, progress }))
    if (state.done) return true
    if (state.progress !== progress) {
      progress = state.progress
      movedAt = Date.now()
    }
    if (Date.now() - movedAt > options.quietMs || Date.now() > deadline) return false
    await new Promise((r) => setTimeout(r, options.intervalMs))
  }
}
