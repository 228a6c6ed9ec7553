/** An event as accepted by capture and carried through the ingest queue. */
export interface IngestEvent {
  uuid: string
  team_id: number
  event: string
  distinct_id: string
  properties: Record<string, unknown>
  /** ISO 8601, already corrected for client clock skew. */
  timestamp: string
  /** When capture received it, ISO 8601. */
  now: string
  sent_at: string | null
  ip: string | null
  site_url: string
  /** Set on events captured by plugins: how many plugin captures led to this one (loop guard). */
  plugin_capture_depth?: number
}

/** One BullMQ job on the ingest queue: many events, so Redis is not the bottleneck. */
export interface IngestBatch {
  events: IngestEvent[]
  /**
   * What the events' export hand-offs are named after when not this job's id: the batch a team's
   * part came from, once moved to a job of its own (deferred or split). A retry of that batch could
   * otherwise hand a team it had stored and handed over already to the exporters again, under a new id.
   */
  handoffId?: string
}

export type Role = 'capture' | 'ingest-worker' | 'job-worker' | 'scheduler' | 'exporter'
export const ROLES: readonly Role[] = ['capture', 'ingest-worker', 'job-worker', 'scheduler', 'exporter']

/** One `meta.jobs.<name>(payload).runAt(...)` call, as stored in the jobs queue. */
export interface PluginJobData {
  teamId: number
  pluginConfigId: number
  name: string
  payload: unknown
  enqueuedAt: string
  /** Times the job worker put the job back because the server, not the plugin, failed its run (JobRunner.putBack). */
  serverPutBacks?: number
  /** When the server first failed its run (ms since the epoch), for the put-backs' horizon. */
  serverFailingSince?: number
  /** The job's attempts made then: a run that reached the plugin since starts the count again. */
  serverFailingAttempts?: number
}

/** Stored events of one team handed to the exporters (onEvent, onSnapshot, exportEvents). */
export interface ExportBatch {
  teamId: number
  events: IngestEvent[]
  /**
   * The team's exporting configs the ingest worker knew when it handed the events over: an exporter
   * that does not know one re-reads the team's configs first (export TeamRereads), so a config it has
   * not heard of yet (the reload message lost) is not left out of the events.
   */
  configIds?: number[]
}
