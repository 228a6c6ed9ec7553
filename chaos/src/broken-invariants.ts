import { Discrepancy, summarize } from './discrepancy'
import type { Fault, FaultKind } from './faults'
import type { ScheduleCheck } from './schedule-check'

const HARD_FAULTS: FaultKind[] = ['capture SIGKILL', 'redis SIGKILL', 'postgres immediate stop']

/** One line per broken invariant of the run: what `report.failures` holds. */
export function brokenInvariants(r: { discrepancies: Discrepancy[]; schedule: ScheduleCheck; configs: number; faults: Fault[]; exits: string[] }): string[] {
  const failures = r.discrepancies.filter((d) => d.breaks && d.ids.length > 0).map((d) => summarize(d))
  if (r.schedule.overlaps > 0) failures.push(`${r.schedule.overlaps} overlapping scheduled runs`)
  if (r.schedule.skips > 0) failures.push(`${r.schedule.skips} scheduled runs late by more than one interval plus the lease`)
  if (r.schedule.runs < 2 * r.configs) failures.push(`only ${r.schedule.runs} scheduled runs for ${r.configs} configs`)
  for (const kind of HARD_FAULTS) if (!r.faults.some((f) => f.kind === kind)) failures.push(`no ${kind} happened`)
  if (r.exits.length > 0) failures.push(`processes exited without being killed: ${r.exits.join('; ')}`)
  return failures
}
