import type { Job } from 'bullmq'
import { assertJobData, type ExportBatch } from '@plugin-server/core'
import type { PluginManager } from '@plugin-server/plugin-runtime'
import { configExportOptions } from './config-export-options'
import type { DeliveryQueue, NewDelivery } from './delivery-queue'
import type { ExportBuffer } from './export-buffer'
import { methodReceives } from './method-receives'
import type { TeamRereads } from './team-rereads'
import type { ExportMethod, ExportSettings, ProcessedPluginEvent } from './interfaces'
import { toProcessedEvent } from '@plugin-server/plugin-runtime'
import { EXPORTING_METHODS } from '@plugin-server/plugin-vm'

export interface FanOutDeps {
  manager: PluginManager
  buffer: ExportBuffer
  deliveries: DeliveryQueue
  settings: ExportSettings
  /** Re-reads of a team's configs for hand-offs naming configs this exporter does not know. */
  rereads: TeamRereads
}

/** How far the ingest workers' and exporters' clocks may be apart, for when a hand-off was made. */
const HANDOFF_CLOCK_SKEW_MS = 5_000

/**
 * One ingest hand-off (a team's stored events) → each exporting config of the team: exportEvents
 * events into the config's buffer, onEvent / onSnapshot / composeWebhook events into a delivery
 * job of their own. The hand-off is acknowledged only after all of that is in Redis; a redelivered
 * hand-off adds nothing twice (append markers and job ids derive from the hand-off id).
 */
export async function fanOut(deps: FanOutDeps, job: Job<ExportBatch>): Promise<string> {
  const started = Date.now()
  assertJobData(job, 'events', 'events')
  const handoffId = job.id ?? `${job.data.teamId}-${job.timestamp}`
  // The ingest worker knew an exporting config this exporter has not heard of (its reload message lost
  // over a reconnect, its re-read failed): the team is read again first. Taken as not there, the
  // events were acknowledged here and never delivered to it, though stored as deferred to it.
  const unknown = () => (job.data.configIds ?? []).some((id) => !deps.manager.knows(id))
  // A read that began after the hand-off was made (its timestamp, the ingest worker's clock, give or
  // take HANDOFF_CLOCK_SKEW_MS) covers it: one read answers a team's whole backlog of hand-offs still
  // naming a config disabled since, instead of one read (a second apart) per hand-off in the slots all teams share.
  if (unknown()) await deps.rereads.after(job.data.teamId, Math.min(started, job.timestamp + HANDOFF_CLOCK_SKEW_MS), () => !unknown())
  // The configs known to export, set up or not: a setupPlugin that hangs or is being retried is the
  // delivery jobs' to wait for (each team holding its share of the slots), not the fan-out's, whose
  // few slots every team shares. Only a config whose exports are not known yet is loaded here.
  const records = await deps.manager.teamExporting(job.data.teamId, EXPORTING_METHODS)
  // Built once; each delivery job carries its own serialized copy, so no plugin sees another's changes.
  const events = job.data.events.map(toProcessedEvent)
  const snapshots = events.filter((e) => methodReceives('onSnapshot', e.event))
  const others = events.filter((e) => !methodReceives('onSnapshot', e.event))
  const deliveries: NewDelivery[] = []
  let buffered = 0
  for (const record of records) {
    const { id: configId, teamId } = record
    const methods = deps.manager.methodsOf(configId) ?? []
    const per = (method: ExportMethod, selected: ProcessedPluginEvent[]) => {
      if (!methods.includes(method) || selected.length === 0) return
      deliveries.push({
        jobId: `e-${handoffId}-${configId}-${method}`,
        data: { configId, teamId, method, events: selected, source: { type: 'live' }, attempts: [] },
      })
    }
    per('onEvent', others)
    per('onSnapshot', snapshots)
    per('composeWebhook', others)
    if (methods.includes('exportEvents')) {
      const options = configExportOptions(record.config, deps.settings)
      const kept = others.filter((e) => !options.ignoredEvents.has(e.event))
      const bytes = await deps.buffer.append(configId, handoffId, kept)
      if (bytes !== null) buffered += kept.length
      if (bytes !== null && bytes >= options.maxBytes) await deps.buffer.flush(configId)
    }
  }
  await deps.deliveries.add(deliveries)
  return `${buffered} buffered, ${deliveries.length} deliveries`
}
