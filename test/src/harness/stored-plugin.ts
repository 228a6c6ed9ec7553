import { createHash } from 'node:crypto'
import type { Pool } from 'pg'
import { publishReload } from '@plugin-server/core'
import type Redis from 'ioredis'

export interface StoredPlugin {
  id: number
  name: string
  version: number
}

/**
 * Stores plugin files the way `plugin install` does, without compiling them first: what a plugin
 * stored before the compiler or the allowed modules changed looks like to a worker (install refuses
 * such files today). `pluginJson` is the installed plugin.json (the `plugin_json` column configs are
 * validated against); it defaults to the files' own plugin.json. A second store under the same name
 * is a new version, announced to the workers like an install when `reload` is given.
 */
export async function storeUncompiledPlugin(
  pool: Pool,
  files: Record<string, string>,
  options: { pluginJson?: { name: string; config?: unknown[] }; reload?: { redis: Redis; queuePrefix: string } } = {},
): Promise<StoredPlugin> {
  const given = options.pluginJson ?? (JSON.parse(files['plugin.json']) as { name: string; config?: unknown[] })
  // As the installer's plugin.json validation leaves it: `config` always present.
  const pluginJson = { ...given, config: given.config ?? [] }
  const source = Object.fromEntries(Object.entries(files).map(([path, text]) => [path, Buffer.from(text).toString('base64')]))
  const hash = createHash('sha256').update(JSON.stringify(source)).digest('hex')
  const { rows } = await pool.query<StoredPlugin>(
    `INSERT INTO plugins (name, plugin_json, config_schema, source, content_hash) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (name) DO UPDATE SET plugin_json = $2, config_schema = $3, source = $4, content_hash = $5, version = plugins.version + 1, updated_at = now()
     RETURNING id, name, version`,
    [pluginJson.name, pluginJson, JSON.stringify(pluginJson.config), source, hash],
  )
  const plugin = rows[0]
  await pool.query('INSERT INTO plugin_versions (plugin_id, version, content_hash, plugin_json, source) VALUES ($1, $2, $3, $4, $5)', [
    plugin.id,
    plugin.version,
    hash,
    pluginJson,
    source,
  ])
  if (options.reload) await publishReload(options.reload.redis, options.reload.queuePrefix, { reason: 'plugin updated', pluginId: plugin.id })
  return plugin
}
