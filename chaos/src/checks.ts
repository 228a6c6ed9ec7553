import type { Run } from './sink'

export interface ScheduleCheck {
  runs: number
  overlaps: number
  /** Gaps between a run's end and the next start longer than interval + lease, outside outages. */
  skips: number
  maxGapMs: number
}

/**
 * Runs of a killed replica have a start and no end: that run died with its process. Overlap means a
 * run started while another, still alive, had not ended; a gap is measured from the end of the
 * last finished run (or the start of a dead one) to the next start.
 */
export function checkSchedule(runs: Run[], intervalMs: number, leaseMs: number, outages: { from: number; to: number }[]): ScheduleCheck {
  const sorted = [...runs].sort((a, b) => a.start - b.start)
  let overlaps = 0
  let skips = 0
  let maxGapMs = 0
  for (let i = 1; i < sorted.length; i++) {
    const previous = sorted[i - 1]
    const current = sorted[i]
    if (previous.end !== null && current.start < previous.end) overlaps++
    const from = previous.end ?? previous.start
    const gap = current.start - from
    const duringOutage = outages.some((o) => o.from <= current.start && o.to >= from)
    if (!duringOutage) maxGapMs = Math.max(maxGapMs, gap)
    if (!duringOutage && gap > intervalMs + leaseMs + 1000) skips++
  }
  return { runs: sorted.length, overlaps, skips, maxGapMs }
}

export function missing(expected: Iterable<string>, present: { has: (key: string) => boolean }): string[] {
  return [...expected].filter((key) => !present.has(key))
}
