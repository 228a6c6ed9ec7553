import fs from 'node:fs'
import path from 'node:path'
import Redis from 'ioredis'
import pino from 'pino'
import type { Pool } from 'pg'
import { createConfig, installPluginFromPath } from '@plugin-server/management'
import type { SecretBox } from '@plugin-server/secrets'

const ROOT = path.resolve(__dirname, '../../../..')

/** The project's example plugins, and PostHog's own GeoIP plugin when it is installed (a devDependency). */
function examplePluginDirs(): string[] {
  const examples = path.join(ROOT, 'examples/plugins')
  const dirs = fs.readdirSync(examples).map((d) => path.join(examples, d))
  const geoip = path.join(ROOT, 'node_modules/@posthog/geoip-plugin')
  return fs.existsSync(path.join(geoip, 'plugin.json')) ? [...dirs, geoip] : dirs
}

/** Settings the demo gives each example plugin, by plugin directory name. */
export type ExampleConfigs = Record<string, Record<string, string>>

export async function installExamplePlugins(pool: Pool, redisUrl: string, secrets: SecretBox, teamId: number, configs: ExampleConfigs = {}): Promise<string[]> {
  const redis = new Redis(redisUrl)
  const ctx = { pool, redis, queuePrefix: process.env.QUEUE_PREFIX ?? '{ps}', logger: pino({ level: 'silent' }), secrets }
  const lines: string[] = []
  try {
    for (const [order, dir] of examplePluginDirs().entries()) {
      const installed = await installPluginFromPath(ctx, dir)
      const config = await createConfig(ctx, { teamId, plugin: installed.plugin.id, enabled: true, order, config: configs[path.basename(dir)] ?? {} })
      lines.push(`plugin "${installed.plugin.name}" ${installed.status} and enabled for the team (config ${config.id})`)
    }
  } finally {
    redis.disconnect()
  }
  return lines
}
