import type { Pool } from 'pg'

/**
 * The stored files (path → base64) of the plugin's version with this content hash: a pinned or
 * rolled-back config runs files other than the plugin row's. A plugin stored without a version row
 * (only tests write those) falls back to its row. Null when the plugin is gone.
 */
export async function readPluginVersionFiles(pool: Pool, pluginId: number, contentHash: string): Promise<Record<string, string> | null> {
  const { rows } = await pool.query<{ source: Record<string, string> }>(
    `SELECT source FROM (
       SELECT source, 0 AS preference FROM plugin_versions WHERE plugin_id = $1 AND content_hash = $2
       UNION ALL SELECT source, 1 FROM plugins WHERE id = $1
     ) found ORDER BY preference LIMIT 1`,
    [pluginId, contentHash],
  )
  return rows[0]?.source ?? null
}
