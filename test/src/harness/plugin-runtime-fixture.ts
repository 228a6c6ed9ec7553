import { createTeam, Team } from '@plugin-server/db'
import { ActiveConfig, PluginRuntime, startPluginRuntime } from '@plugin-server/plugin-runtime'
import { createTestDatabase, TestDatabase, testQueuePrefix } from './databases'
import { enablePlugin, managementContext, writePlugin } from './plugins'
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
  /** A plugin of `code` enabled for the team, then `start()`: the runtime and that config, set up. */
  startWithPlugin: (name: string, code: string) => Promise<{ runtime: PluginRuntime; config: ActiveConfig }>
  close: () => Promise<void>
}

export async function pluginRuntimeFixture(env: Record<string, string> = {}): Promise<PluginRuntimeFixture> {
  const db = await createTestDatabase()
  const team = await createTeam(db.pool, 'a')
  const prefix = testQueuePrefix()
  const ctx = testRoleContext('ingest-worker', { DATABASE_URL: db.url, QUEUE_PREFIX: prefix, ...env })
  const management = managementContext(db.pool, prefix)
  let runtime: PluginRuntime | null = null
  const start = async () => (runtime = await startPluginRuntime(ctx))
  return {
    db,
    team,
    prefix,
    ctx,
    management,
    start,
    startWithPlugin: async (name, code) => {
      await enablePlugin(management, team.id, writePlugin(name, code))
      const started = await start()
      const [config] = await started.manager.teamConfigs(team.id)
      return { runtime: started, config }
    },
    close: async () => {
      await runtime?.manager.close()
      await runtime?.services.logs.close()
      await management.close()
      await ctx.close()
      await db.drop()
    },
  }
}
