import type { Pool, PoolClient } from 'pg'
import type { PluginVersionCapabilities, PluginVersionKey } from './plugin-version-capabilities'

/**
 * Records what a version exports. `onlyIfUnknown` is for processes learning it after the fact:
 * many may learn the same version at once, and the first record stands (they all read the same code).
 */
export async function recordVersionCapabilities(
  db: Pool | PoolClient,
  version: PluginVersionKey,
  capabilities: PluginVersionCapabilities,
  options: { onlyIfUnknown?: boolean } = {},
): Promise<void> {
  await db.query(
    `UPDATE plugin_versions SET capabilities = $3 WHERE plugin_id = $1 AND version = $2 ${options.onlyIfUnknown ? 'AND capabilities IS NULL' : ''}`,
    [version.pluginId, version.version, JSON.stringify(capabilities)],
  )
}
