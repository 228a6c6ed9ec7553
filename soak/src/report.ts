import type { EventFigures } from './event-audit'
import type { ProbeCounts } from './probes'
import type { Sample, SeriesInfo } from './sampler'
import type { SeriesTrend } from './series-trends'

export interface SoakSettings {
  seconds: number
  eventsPerSecond: number
  sampleSeconds: number
  warmupSeconds: number
  reloadSeconds: number
  timeScale: number
}

export interface SoakReport {
  settings: SoakSettings
  /** The fleet's processes, by name, with the pid each ran as. */
  processes: { name: string; pid: number }[]
  series: SeriesInfo[]
  samples: Sample[]
  trends: SeriesTrend[]
  events: EventFigures
  probes: ProbeCounts[]
  reloads: number
  failures: string[]
  logDir: string
}

const SHORT: Record<string, string> = {
  'capture #0': 'cap',
  'ingest-worker #0': 'ing0',
  'ingest-worker #1': 'ing1',
  'exporter #0': 'exp',
  'scheduler #0': 'sch',
  'job-worker #0': 'job',
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`
  return [line(header), `|${widths.map((w, i) => (i === 0 ? ':' : '') + '-'.repeat(w + 1) + (i === 0 ? '' : ':')).join('|')}|`, ...rows.map(line)].join('\n')
}

const fmt = (v: number | null | undefined, digits = 0) => (v === null || v === undefined ? '–' : v.toFixed(digits))

/** The sampled series, one row per sample: connections, RSS and heap per process, fds, isolates and queue backlog. */
export function formatSamples(r: SoakReport): string {
  const names = r.processes.map((p) => p.name)
  const sum = (s: Sample, suffix: string) => {
    const vs = Object.entries(s.values).filter(([k, v]) => k.endsWith(suffix) && v !== null)
    return vs.length ? vs.reduce((a, [, v]) => a + v!, 0) : null
  }
  const header = [
    't (s)',
    'redis',
    'pg',
    ...names.map((n) => `rss ${SHORT[n] ?? n}`),
    ...names.map((n) => `heap ${SHORT[n] ?? n}`),
    'fds',
    'isolates',
    'backlog',
  ]
  const rows = r.samples.map((s) => [
    `${s.t.toFixed(0)}${s.t < r.settings.warmupSeconds ? ' (warm-up)' : ''}`,
    fmt(s.values['redis clients']),
    fmt(s.values['postgres connections']),
    ...names.map((n) => fmt(s.values[`${n} rss`])),
    ...names.map((n) => fmt(s.values[`${n} heap after GC`])),
    fmt(sum(s, ' open fds')),
    fmt(sum(s, ' live isolates')),
    fmt(sum(s, ' backlog')),
  ])
  return table(header, rows)
}

/** Each series after warm-up: its range, least-squares slope and fitted rise against its tolerance. */
export function formatTrends(r: SoakReport): string {
  const rows = r.trends.map((t) => [
    t.name,
    t.unit,
    `${fmt(t.first, 1)} → ${fmt(t.last, 1)}`,
    `${fmt(t.min, 1)}–${fmt(t.max, 1)}`,
    fmt(t.slopePerHour, 1),
    fmt(t.rise, 1),
    t.tolerance,
    t.points < 3 ? 'too few' : t.ok ? 'flat' : 'RISING',
  ])
  return table(['series (after warm-up)', 'unit', 'first → last', 'min–max', 'slope /h', 'fitted rise', 'tolerance', 'verdict'], rows)
}

export function formatReport(r: SoakReport): string {
  const e = r.events
  const probeFailures = r.probes.filter((p) => p.failures > 0)
  const polls = r.probes.reduce((s, p) => s + p.polls, 0)
  const lines = [
    `soak: ${r.settings.seconds} s at ${r.settings.eventsPerSecond} events/s, sampled every ${r.settings.sampleSeconds} s, warm-up ${r.settings.warmupSeconds} s, a config reloaded every ${r.settings.reloadSeconds} s (${r.reloads} reloads), TIME_SCALE ${r.settings.timeScale}`,
    '',
    formatSamples(r),
    '',
    formatTrends(r),
    '',
    `events sent / acknowledged / stored / exported: ${e.sent} / ${e.acknowledged} / ${e.stored} / ${e.exported}`,
    `acknowledged not stored: ${e.lost}; stored twice: ${e.storedDuplicates}; stored not exported: ${e.notExported}; exported more than once: ${e.exportDuplicates}`,
    `stored without processEvent having run (plugin disposed under the call by a reload): ${e.unprocessed}`,
    `jobs enqueued / ran / ran twice: ${e.jobsExpected} / ${e.jobsRan} / ${e.jobsRanTwice}; scheduled runs: ${e.scheduledRuns}`,
    `health polls: ${polls}, failed: ${probeFailures.map((p) => `${p.process} ${p.endpoint} ${p.failures}/${p.polls} (${p.examples.join('; ')})`).join(', ') || 'none'}`,
    `process logs: ${r.logDir}`,
    r.failures.length === 0 ? 'soak run: all checks passed' : `soak run FAILED:\n  ${r.failures.join('\n  ')}`,
  ]
  return lines.join('\n')
}
