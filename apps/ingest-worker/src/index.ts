import type { RoleContext, RunningRole } from '@plugin-server/core'
import { startIngestConsumer } from '@plugin-server/ingestion'

/** Turns ingest batches into stored events. Plugins join here as a BatchStep (processEvent chain). */
export async function start(ctx: RoleContext): Promise<RunningRole> {
  const { closers, checks } = startIngestConsumer(ctx)
  return { closers, checks }
}
