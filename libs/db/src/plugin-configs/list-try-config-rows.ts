import type { Pool } from 'pg'

/** A config as a dry run loads it: the version it runs (its pin, or the current one) and its stored values; `Schema` typed by the caller. */
export interface TryConfigRecord<Schema = unknown> {
  id: number
  team_id: number
  api_token: string
  plugin_id: number
  name: string
  content_hash: string
  config_schema: Schema
  /** As stored: secret values still sealed. */
  config: Record<string, string>
}

/**
 * A team's configs in processEvent order: all of them, only `configId`, or (with `enabledOnly`) the
 * enabled ones — what Try it runs for a config or for the team's whole chain.
 */
export async function listTryConfigRows<Schema = unknown>(
  pool: Pool,
  teamId: number,
  configId: number | null,
  enabledOnly: boolean,
): Promise<TryConfigRecord<Schema>[]> {
  const { rows } = await pool.query<TryConfigRecord<Schema>>(
    `SELECT c.id, c.team_id, t.api_token, c.plugin_id, p.name, COALESCE(v.content_hash, p.content_hash) AS content_hash,
            COALESCE(v.plugin_json->'config', p.config_schema) AS config_schema, c.config
     FROM plugin_configs c JOIN plugins p ON p.id = c.plugin_id JOIN teams t ON t.id = c.team_id
     LEFT JOIN plugin_versions v ON v.plugin_id = c.plugin_id AND v.version = c.pinned_version -- a pinned config tries its version
     WHERE c.team_id = $1 AND ($2::int IS NULL OR c.id = $2) AND (NOT $3 OR c.enabled)
     ORDER BY c."order", c.id`,
    [teamId, configId, enabledOnly],
  )
  return rows
}
