import { PostHog } from 'posthog-node'
import { readLogs } from '@plugin-server/management'
import type { TestFleet } from './fleet'
import { managementContext } from './plugins'

/** Sends `count` events named `<tag> <i>` through posthog-node to the fleet's capture; their uuids, in order. */
export async function sendEvents(fleet: TestFleet, count: number, tag: string, distinctIds = 5): Promise<string[]> {
  const client = new PostHog(fleet.team.api_token, { host: fleet.captureUrl, flushAt: 50, flushInterval: 20, fetchRetryCount: 5, fetchRetryDelay: 200 })
  const uuids = Array.from({ length: count }, () => crypto.randomUUID())
  uuids.forEach((uuid, i) => client.capture({ uuid, distinctId: `user-${i % distinctIds}`, event: `${tag} ${i}`, properties: { seq: i, tag } }))
  await client.shutdown()
  return uuids
}

/** The messages of a config's plugin logs, as the management API reads them. */
export async function pluginLogMessages(fleet: TestFleet, configId: number): Promise<string[]> {
  const ctx = managementContext(fleet.db.pool, fleet.env.QUEUE_PREFIX)
  try {
    return (await readLogs(ctx, configId)).map((row) => row.message)
  } finally {
    await ctx.close()
  }
}
