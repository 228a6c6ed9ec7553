import type { Sample, SeriesInfo } from './sampler'
import { describeTolerance, Tolerances } from './tolerances'
import { judgeTrend, Point, Trend } from './trend'

export interface SeriesTrend extends Trend {
  name: string
  unit: string
  tolerance: string
  /** Post-warm-up samples the trend was fitted on. */
  points: number
  first: number | null
  last: number | null
  min: number | null
  max: number | null
}

/** Each series' trend over the samples taken after warm-up (samples it could not read are left out). */
export function seriesTrends(series: SeriesInfo[], samples: Sample[], warmupSeconds: number, tolerances: Tolerances): SeriesTrend[] {
  const after = samples.filter((s) => s.t >= warmupSeconds)
  return series.map(({ name, kind }) => {
    const points: Point[] = after.flatMap((s) => (s.values[name] === null || s.values[name] === undefined ? [] : [{ t: s.t, v: s.values[name]! }]))
    const tolerance = tolerances[kind]
    const values = points.map((p) => p.v)
    return {
      name,
      unit: tolerance.unit,
      tolerance: describeTolerance(tolerance),
      points: points.length,
      first: values[0] ?? null,
      last: values[values.length - 1] ?? null,
      min: values.length ? Math.min(...values) : null,
      max: values.length ? Math.max(...values) : null,
      ...judgeTrend(points, tolerance),
    }
  })
}

/** One line per series that rose beyond its tolerance or could not be read often enough to tell. */
export function trendFailures(trends: SeriesTrend[]): string[] {
  return trends.flatMap((t) => {
    if (t.points < 3) return [`${t.name}: only ${t.points} samples after warm-up, too few to fit a trend`]
    if (!t.ok) return [`${t.name} rose ${t.rise.toFixed(1)} ${t.unit} after warm-up (${t.slopePerHour.toFixed(1)} ${t.unit}/h; allowed ${t.tolerance})`]
    return []
  })
}
