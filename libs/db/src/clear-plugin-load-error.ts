import type { Pool } from 'pg'

/** Clears the config's error if it is a load failure (its plugin loads now); other errors stay. Answers whether one was cleared. */
export async function clearPluginLoadError(pool: Pool, pluginConfigId: number): Promise<boolean> {
  const { rowCount } = await pool.query(`UPDATE plugin_configs SET error = NULL WHERE id = $1 AND error->>'name' = 'PluginLoadError'`, [pluginConfigId])
  return rowCount === 1
}
