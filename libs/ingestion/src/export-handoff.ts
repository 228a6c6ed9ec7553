import type { ExportBatch } from '@plugin-server/core'
import { EXPORTING_METHODS, type PluginMethodName } from '@plugin-server/plugin-vm'
import type { Queue } from 'bullmq'
import { eventsByTeam } from './events-by-team'
import type { AfterStoreHook } from './interfaces'

export interface ExportingTeams {
  /** The team's enabled configs exporting one of `methods`. */
  teamExporting(teamId: number, methods: readonly PluginMethodName[]): Promise<readonly { id: number }[]>
}

/**
 * After a team's events of a batch are stored, they go to the exporters, one job per team, only for
 * teams with a config that exports, naming those configs (an exporter that has not heard of one
 * re-reads the team). The job id derives from the ingest batch, so a redelivered batch does not
 * hand the same events over twice while the first job is still known to BullMQ.
 */
export function exportHandoff(teams: ExportingTeams, queue: Queue<ExportBatch>): AfterStoreHook {
  return async (events, batchId) => {
    const jobs = []
    for (const [teamId, teamEvents] of eventsByTeam(events)) {
      const exporting = await teams.teamExporting(teamId, EXPORTING_METHODS)
      if (exporting.length > 0) {
        const configIds = exporting.map((c) => c.id)
        jobs.push({ name: 'events', data: { teamId, events: teamEvents, configIds }, opts: { jobId: `x-${batchId}-${teamId}` } })
      }
    }
    if (jobs.length > 0) await queue.addBulk(jobs)
  }
}
