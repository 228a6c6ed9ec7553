import type { Pool } from 'pg'

/** An enabled config with what a worker needs to run it, but its plugin.json: listPluginVersionJsons reads that once per version. */
export interface EnabledConfigRunRecord {
  id: number
  team_id: number
  api_token: string
  plugin_id: number
  name: string
  version: number
  pinned_version: number | null
  content_hash: string
  order: number
  /** As stored: secret values still sealed. */
  config: Record<string, unknown>
  config_updated_at: Date
  plugin_updated_at: Date
  /** Attachment ids with the md5 of their contents; null when the config has none. */
  attachments_signature: string | null
}

/** Which enabled configs to read: those with one of these ids, or of one of these teams or plugins. */
export interface ConfigRunScope {
  configIds: readonly number[]
  teamIds: readonly number[]
  pluginIds: readonly number[]
}

/** Enabled configs (all, or those in `scope`), in processEvent order: by team, then order, then id. */
export async function listEnabledConfigRuns(pool: Pool, scope: ConfigRunScope | null): Promise<EnabledConfigRunRecord[]> {
  const { rows } = await pool.query<EnabledConfigRunRecord>(
    // A pinned config reads its version's row, so a new install or a rollback (which touch the plugin row) leaves its signature alone.
    // contents_md5 is kept by a trigger (migration 0016); md5(contents) only for a row written before it and not filled yet.
    `SELECT c.id, c.team_id, t.api_token, c.plugin_id, p.name, COALESCE(v.version, p.version) AS version, c.pinned_version,
            COALESCE(v.content_hash, p.content_hash) AS content_hash, c."order", c.config,
            c.updated_at AS config_updated_at, COALESCE(v.created_at, p.updated_at) AS plugin_updated_at,
            (SELECT string_agg(a.id::text || ':' || COALESCE(a.contents_md5, md5(a.contents)), ',' ORDER BY a.id)
             FROM plugin_attachments a WHERE a.plugin_config_id = c.id) AS attachments_signature
     FROM plugin_configs c JOIN plugins p ON p.id = c.plugin_id JOIN teams t ON t.id = c.team_id
     LEFT JOIN plugin_versions v ON v.plugin_id = c.plugin_id AND v.version = c.pinned_version
     WHERE c.enabled AND ($1::boolean OR c.id = ANY($2::int[]) OR c.team_id = ANY($3::int[]) OR c.plugin_id = ANY($4::int[]))
     ORDER BY c.team_id, c."order", c.id`,
    [scope === null, scope?.configIds ?? [], scope?.teamIds ?? [], scope?.pluginIds ?? []],
  )
  return rows
}
