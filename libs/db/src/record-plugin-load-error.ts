import type { Pool } from 'pg'

/** What a worker stores in `plugin_configs.error` when the config's plugin cannot be loaded. */
export interface PluginLoadErrorRecord {
  /** Already redacted of the config's secret values. */
  message: string
  /** A small fixed set (missing_module, compile_error, …), also the metric's label. */
  reason: string
  pluginVersion: number
  time: Date
}

/**
 * Sets the config's error to this load failure unless it already says the same for the same plugin
 * version. Answers whether it changed, so that of all the workers failing to load one version only
 * the first writes the reason to the config's logs.
 */
export async function recordPluginLoadError(pool: Pool, pluginConfigId: number, failure: PluginLoadErrorRecord): Promise<boolean> {
  const error = {
    message: failure.message,
    name: 'PluginLoadError',
    reason: failure.reason,
    plugin_version: failure.pluginVersion,
    time: failure.time.toISOString(),
  }
  const { rowCount } = await pool.query(
    `UPDATE plugin_configs SET error = $2::jsonb
     WHERE id = $1 AND enabled
       AND (error IS NULL
         OR error->>'name' IS DISTINCT FROM 'PluginLoadError'
         OR error->>'message' IS DISTINCT FROM $2::jsonb->>'message'
         OR error->>'plugin_version' IS DISTINCT FROM $2::jsonb->>'plugin_version')`,
    [pluginConfigId, JSON.stringify(error)],
  )
  return rowCount === 1
}
