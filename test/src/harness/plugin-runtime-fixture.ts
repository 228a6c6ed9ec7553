import { createTeam, Team } from '@plugin-server/db'
import { PluginRuntime, startPluginRuntime } from '@plugin-server/plugin-runtime'
import { createTestDatabase, TestDatabase, testQueuePrefix } from './databases'
import { managementContext } from './plugins'
import { testRoleContext } from './role-context'

/**
 * A database with a team, a queue prefix, management operations and — once `start()` is called —
 * the plugin runtime a worker role would run, all inside the test process.
 */
export interface PluginRuntimeFixture {
  db: TestDatabase
  team: Team
  prefix: string
  ctx: ReturnType<typeof testRoleContext>
  management: ReturnType<typeof managementContext>
  start: () => Promise<PluginRuntime>
  close: () => Promise<void>
}

export async function pluginRuntimeFixture(env: Record<string, string> = {}): Promise<PluginRuntimeFixture> {
  const db = await createTestDatabase()
  const team = await createTeam(db.pool, 'a')
  const prefix = testQueuePrefix()
  const ctx = testRoleContext('ingest-worker', { DATABASE_URL: db.url, QUEUE_PREFIX: prefix, ...env })
  const management = managementContext(db.pool, prefix)
  let runtime: PluginRuntime | null = null
  return {
    db,
    team,
    prefix,
    ctx,
    management,
    start: async () => (runtime = await startPluginRuntime(ctx)),
    close: async () => {
      await runtime?.manager.close()
      await runtime?.services.logs.close()
      await management.close()
      await ctx.close()
      await db.drop()
    },
  }
}
