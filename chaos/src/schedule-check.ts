import type { Run } from './sink'

export interface ScheduleCheck {
  runs: number
  chains: number
  overlaps: number
  /** Gaps between a run's end and the next start longer than interval + lease, outside outages. */
  skips: number
  maxGapMs: number
}

/**
 * Each config's runEveryMinute is its own chain; runs of different chains may overlap. Runs of a
 * killed replica have a start and no end: that run died with its process. Overlap means a run
 * started while another of its chain, still alive, had not ended; a gap is measured from the end of
 * the last finished run (or the start of a dead one) to the next start.
 */
export function checkSchedule(runs: Run[], intervalMs: number, leaseMs: number, outages: { from: number; to: number }[]): ScheduleCheck {
  const chains = new Map<string, Run[]>()
  for (const run of runs) chains.set(run.chain, [...(chains.get(run.chain) ?? []), run])
  const check: ScheduleCheck = { runs: runs.length, chains: chains.size, overlaps: 0, skips: 0, maxGapMs: 0 }
  for (const chain of chains.values()) {
    const sorted = chain.sort((a, b) => a.start - b.start)
    for (let i = 1; i < sorted.length; i++) {
      const previous = sorted[i - 1]
      const current = sorted[i]
      if (previous.end !== null && current.start < previous.end) check.overlaps++
      const from = previous.end ?? previous.start
      const gap = current.start - from
      const duringOutage = outages.some((o) => o.from <= current.start && o.to >= from)
      if (!duringOutage) check.maxGapMs = Math.max(check.maxGapMs, gap)
      if (!duringOutage && gap > intervalMs + leaseMs + 1000) check.skips++
    }
  }
  return check
}
