import type { Tolerance } from './tolerances'

export interface Point {
  /** Seconds since the run began. */
  t: number
  v: number
}

export interface Trend {
  /** Least-squares slope, per hour. */
  slopePerHour: number
  /** The fitted line's rise from the first to the last point. */
  rise: number
  /** The rise the tolerance allows over this window. */
  allowed: number
  ok: boolean
}

/** Least-squares slope of v over t, per second; 0 for fewer than two distinct times. */
export function leastSquaresSlope(points: readonly Point[]): number {
  const n = points.length
  if (n < 2) return 0
  const meanT = points.reduce((s, p) => s + p.t, 0) / n
  const meanV = points.reduce((s, p) => s + p.v, 0) / n
  let num = 0
  let den = 0
  for (const p of points) {
    num += (p.t - meanT) * (p.v - meanV)
    den += (p.t - meanT) ** 2
  }
  return den === 0 ? 0 : num / den
}

/** Whether a series' fitted rise over its window stays within the tolerance (a fall always does). */
export function judgeTrend(points: readonly Point[], tolerance: Tolerance): Trend {
  const slope = leastSquaresSlope(points)
  const seconds = points.length < 2 ? 0 : points[points.length - 1].t - points[0].t
  const rise = slope * seconds
  const allowed = Math.max(tolerance.floor, (tolerance.perHour * seconds) / 3600)
  return { slopePerHour: slope * 3600, rise, allowed, ok: rise <= allowed }
}
