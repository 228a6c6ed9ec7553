import path from 'node:path'
import type { Pool } from 'pg'
import type { Redis } from 'ioredis'
import pino from 'pino'
import { parseSecretKeys } from '@plugin-server/core'
import { createTeam } from '@plugin-server/db'
import { createConfig, installPluginFromPath } from '@plugin-server/management'
import { SecretBox } from '@plugin-server/secrets'
import type { LoadTeam } from './load'

export interface ChaosTeam extends LoadTeam {
  /** The enrichment the fixture's processEvent puts on each of this team's events (its config's `name`). */
  configName: string
  /** How ingestion names the config in `$plugins_succeeded`. */
  configLabel: string
}

/** Teams, each with its own config of the chaos fixture plugin, so events, jobs and runs must stay with their team. */
export async function setUpTeams(pool: Pool, redis: Redis, queuePrefix: string, sinkUrl: string, count: number): Promise<ChaosTeam[]> {
  // The keys of this process's environment, which the fleet it starts inherits.
  const secrets = new SecretBox(parseSecretKeys(process.env.PLUGIN_SECRETS_KEYS))
  const management = { pool, redis, queuePrefix, logger: pino({ level: 'silent' }), secrets }
  const installed = await installPluginFromPath(management, path.resolve(__dirname, '../fixtures/chaos-plugin'))
  const teams: ChaosTeam[] = []
  for (let i = 1; i <= count; i++) {
    const team = await createTeam(pool, `chaos ${i}`)
    const configName = `chaos team ${team.id}`
    const config = await createConfig(management, {
      teamId: team.id,
      plugin: installed.plugin.id,
      enabled: true,
      config: { name: configName, sinkUrl, taskMs: '400' },
    })
    teams.push({ id: team.id, apiToken: team.api_token, configName, configLabel: `${config.plugin_name} (${config.id})` })
  }
  return teams
}
