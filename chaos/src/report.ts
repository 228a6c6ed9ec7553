import { Discrepancy, summarize } from './discrepancy'
import type { EventFigures } from './event-checks'
import type { Fault, FaultExposure } from './faults'
import type { JobFigures } from './job-checks'
import type { ScheduleCheck } from './schedule-check'

export interface ChaosReport {
  events: EventFigures
  jobs: JobFigures
  schedule: ScheduleCheck
  /** When the load began; fault times are printed relative to it. */
  startedAt: number
  faults: FaultExposure[]
  /** Requests capture did not answer 200, which the clients retried. */
  failedRequests: number
  /** Export requests the sink refused with 500 on purpose. */
  refusedExports: number
  maxRecoveryMs: number
  /** Every comparison that singled out ids, breaking or not. */
  discrepancies: Discrepancy[]
  /** Every broken invariant, one line each. */
  failures: string[]
  logDir: string
}

export function formatReport(r: ChaosReport): string {
  const e = r.events
  const count = (kind: Fault['kind']) => r.faults.filter((f) => f.fault.kind === kind).length
  const rows: [string, string][] = [
    ['events sent / acknowledged / stored / exported at least once', `${e.sent} / ${e.acked} / ${e.stored} / ${e.exported}`],
    ['stored events (canaries included) enriched by their team’s config', `${e.enriched} / ${e.stored + e.canaries}`],
    ['acknowledged events lost / lost within a Redis SIGKILL’s AOF window', `${e.lost} / ${e.lostInRedisWindow}`],
    ['events exported more than once', String(e.exportDuplicates)],
    [
      'jobs expected / ran / ran for an id not expected / ran twice / failed',
      `${r.jobs.expected} / ${r.jobs.ran} / ${r.jobs.unexpected} / ${r.jobs.duplicates} / ${r.jobs.failed}`,
    ],
    [
      'scheduled runs / configs / overlaps / late beyond interval + lease',
      `${r.schedule.runs} / ${r.schedule.chains} / ${r.schedule.overlaps} / ${r.schedule.skips}`,
    ],
    ['longest gap between scheduled runs (outside outages)', `${r.schedule.maxGapMs} ms`],
    [
      'worker / capture / Redis SIGKILLs, Postgres immediate stops',
      [count('worker SIGKILL'), count('capture SIGKILL'), count('redis SIGKILL'), count('postgres immediate stop')].join(' / '),
    ],
    ['capture requests failed and retried / exports refused by the sink', `${r.failedRequests} / ${r.refusedExports}`],
    ['max time from a hard fault until a new event is stored', `${r.maxRecoveryMs} ms`],
  ]
  const width = Math.max(...rows.map(([k]) => k.length))
  const lines = rows.map(([k, v]) => `| ${k.padEnd(width)} | ${v.padStart(23)} |`)
  for (const { fault, ackedJustBefore, storedOfThem } of r.faults) {
    const recovery = fault.recoveredAt === null ? '' : `, a new event stored ${fault.recoveredAt - fault.at} ms later`
    const at = ((fault.at - r.startedAt) / 1000).toFixed(1)
    lines.push(
      `+${at} s ${fault.kind} of ${fault.target} (requests in flight: ${fault.inFlight})${recovery}; acknowledged in the 2 s before: ${ackedJustBefore}, stored: ${storedOfThem}`,
    )
  }
  for (const d of r.discrepancies.filter((d) => d.ids.length > 0)) lines.push(`${d.breaks ? 'BROKEN' : 'noted '} ${summarize(d)}`)
  lines.push(r.failures.length === 0 ? 'chaos run: all checks passed' : `chaos run FAILED:\n  ${r.failures.join('\n  ')}`)
  return lines.join('\n')
}
