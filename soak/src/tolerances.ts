/**
 * How far a series may rise over the post-warm-up window, as fitted by least squares: at most
 * `floor` (the noise of a flat series: GC sawtooth, a pool opening one more connection), or
 * `perHour` times the window's length, whichever is larger. Connections and isolates have no
 * per-hour allowance: any lasting growth is a leak.
 */
export interface Tolerance {
  floor: number
  perHour: number
  unit: string
}

export const TOLERANCES = {
  'redis clients': { floor: 1, perHour: 0, unit: 'connections' },
  'postgres connections': { floor: 2, perHour: 0, unit: 'connections' },
  rss: { floor: 16, perHour: 20, unit: 'MB' },
  // Read after a forced full GC, so no sawtooth: what is left is compiled code and caches settling.
  'heap after GC': { floor: 8, perHour: 10, unit: 'MB' },
  // Keep-alive sockets (the load's, the probes') open and close with traffic.
  'open fds': { floor: 8, perHour: 0, unit: 'fds' },
  // A reload disposes a config's isolate before its next call loads the new one: ±1 at any sample.
  'live isolates': { floor: 1, perHour: 0, unit: 'isolates' },
  backlog: { floor: 200, perHour: 0, unit: 'jobs' },
} satisfies Record<string, Tolerance>

export type SeriesKind = keyof typeof TOLERANCES
export type Tolerances = Record<SeriesKind, Tolerance>

export function describeTolerance(t: Tolerance): string {
  return t.perHour === 0 ? `≤ +${t.floor} ${t.unit}` : `≤ max(${t.floor} ${t.unit}, ${t.perHour} ${t.unit}/h)`
}
