import path from 'node:path'
import type { Pool } from 'pg'
import type { Redis } from 'ioredis'
import pino from 'pino'
import { parseSecretKeys } from '@plugin-server/core'
import { createTeam } from '@plugin-server/db'
import { createConfig, installPluginFromPath, ManagementContext, updateConfig } from '@plugin-server/management'
import { SecretBox } from '@plugin-server/secrets'
import type { LoadTeam } from '../../chaos/dist/load'

export interface SoakTeam extends LoadTeam {
  configId: number
}

export function soakManagement(pool: Pool, redis: Redis, queuePrefix: string): ManagementContext {
  // The keys of this process's environment, which the fleet it starts inherits.
  return { pool, redis, queuePrefix, logger: pino({ level: 'silent' }), secrets: new SecretBox(parseSecretKeys(process.env.PLUGIN_SECRETS_KEYS)) }
}

/** Teams, each with its own config of the soak fixture plugin (cache, storage, jobs, runEveryMinute, exportEvents). */
export async function setUpSoakTeams(management: ManagementContext, sinkUrl: string, count: number): Promise<SoakTeam[]> {
  const installed = await installPluginFromPath(management, path.resolve(__dirname, '../fixtures/soak-plugin'))
  const teams: SoakTeam[] = []
  for (let i = 1; i <= count; i++) {
    const team = await createTeam(management.pool, `soak ${i}`)
    const config = await createConfig(management, {
      teamId: team.id,
      plugin: installed.plugin.id,
      enabled: true,
      config: { name: `soak team ${team.id}`, sinkUrl },
    })
    teams.push({ id: team.id, apiToken: team.api_token, configId: config.id })
  }
  return teams
}

/**
 * Changes one config's `generation` every interval, which reloads it in every role (a new isolate
 * each time): the reload path is where isolates, connections and timers would leak.
 */
export function startReloads(
  management: ManagementContext,
  configId: number,
  intervalMs: number,
): { reloads: () => number; errors: string[]; stop: () => Promise<void> } {
  let reloads = 0
  const errors: string[] = []
  let pending: Promise<void> = Promise.resolve()
  const timer = setInterval(() => {
    pending = pending.then(() =>
      updateConfig(management, configId, { config: { generation: String(reloads + 1) } }).then(
        () => void reloads++,
        (err: Error) => void errors.push(err.message),
      ),
    )
  }, intervalMs)
  return {
    reloads: () => reloads,
    errors,
    stop: async () => {
      clearInterval(timer)
      await pending
    },
  }
}
