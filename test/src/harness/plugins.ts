import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import Redis from 'ioredis'
import pino from 'pino'
import type { Pool } from 'pg'
import { ConfigInputValue, createConfig, installPluginFromPath, ManagementContext, PluginConfigView } from '@plugin-server/management'
import { REPO_ROOT } from './processes'
import { testSecretBox } from './security-env'

export const FIXTURES = path.join(REPO_ROOT, 'test/fixtures/plugins')

/** Management operations against a test database and queue prefix, the way the CLI runs them. */
export function managementContext(pool: Pool, queuePrefix: string): ManagementContext & { close: () => Promise<void> } {
  const redis = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null })
  return { pool, redis, queuePrefix, logger: pino({ level: 'silent' }), secrets: testSecretBox(), close: async () => void redis.disconnect() }
}

/** Installs `test/fixtures/plugins/<fixture>` and gives `teamId` an enabled config of it. */
export async function enablePlugin(
  ctx: ManagementContext,
  teamId: number,
  fixture: string,
  config: Record<string, ConfigInputValue> = {},
  options: { order?: number } = {},
): Promise<PluginConfigView> {
  const installed = await installPluginFromPath(ctx, path.isAbsolute(fixture) ? fixture : path.join(FIXTURES, fixture))
  return createConfig(ctx, { teamId, plugin: installed.plugin.id, config, enabled: true, order: options.order })
}

/** Writes a one-file plugin to a temporary directory (tests that need several distinct plugins). */
export function writePlugin(name: string, code: string, config: unknown[] = []): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-plugin-'))
  fs.writeFileSync(path.join(dir, 'plugin.json'), JSON.stringify({ name, config }))
  fs.writeFileSync(path.join(dir, 'index.ts'), code)
  return dir
}
