import type { Pool } from 'pg'
import { inTransaction } from '../in-transaction'

/** Written, or refused because the config's team holds `heldBytes` and the row would add `addBytes` over the limit. */
export type PluginStorageWrite = { written: true } | { written: false; heldBytes: number; addBytes: number }

/**
 * `json` is the value already serialized (stored as jsonb); a second write to the key replaces the
 * first. With `teamLimitBytes` (PLUGIN_TEAM_STORAGE_LIMIT_MB; 0: none), a write that would take what
 * the config's team holds (plugin_storage_usage, migration 0010; a row counts plugin_storage_row_bytes, 0011) over it writes nothing; one that
 * does not grow the row always goes. With a limit, the check and the write hold the team's advisory
 * lock (`plugin-storage:<team id>`, the repo's `hashtext('<what>:<id>')` convention) until they commit:
 * under READ COMMITTED concurrent writers each saw the others' rows only once committed, and 40
 * writes from separate connections, each fitting alone, all passed together.
 */
export async function writePluginStorageValue(pool: Pool, pluginConfigId: number, key: string, json: string, teamLimitBytes = 0): Promise<PluginStorageWrite> {
  if (teamLimitBytes === 0) return write(pool, pluginConfigId, key, json, teamLimitBytes)
  return inTransaction(pool, async (client) => {
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('plugin-storage:' || team_id)) FROM plugin_configs WHERE id = $1`, [pluginConfigId])
    // A statement after the lock: its snapshot holds what the previous holder committed.
    return write(client, pluginConfigId, key, json, teamLimitBytes)
  })
}

async function write(db: Pick<Pool, 'query'>, pluginConfigId: number, key: string, json: string, teamLimitBytes: number): Promise<PluginStorageWrite> {
  // Named, so each connection plans it once (planning this statement cost more than running it).
  const { rows } = await db.query<{ written: boolean; held: string; add: string }>({
    name: 'write-plugin-storage-value',
    text: `WITH old AS (SELECT plugin_storage_row_bytes(key, value) AS bytes FROM plugin_storage WHERE plugin_config_id = $1 AND key = $2),
          held AS (
            SELECT coalesce(sum(u.bytes), 0) AS bytes FROM plugin_storage_usage u JOIN plugin_configs c ON c.id = u.plugin_config_id
            WHERE c.team_id = (SELECT team_id FROM plugin_configs WHERE id = $1)
          ),
          grow AS (SELECT plugin_storage_row_bytes($2, $3::jsonb) - coalesce((SELECT bytes FROM old), 0) AS add),
          written AS (
            INSERT INTO plugin_storage (plugin_config_id, key, value)
            SELECT $1, $2, $3::jsonb WHERE $4::bigint = 0 OR (SELECT add FROM grow) <= 0 OR (SELECT bytes FROM held) + (SELECT add FROM grow) <= $4::bigint
            ON CONFLICT (plugin_config_id, key) DO UPDATE SET value = EXCLUDED.value
            RETURNING 1
          )
     SELECT EXISTS (SELECT 1 FROM written) AS written, (SELECT bytes FROM held) AS held, (SELECT add FROM grow) AS add`,
    values: [pluginConfigId, key, json, teamLimitBytes],
  })
  const [result] = rows
  return result.written ? { written: true } : { written: false, heldBytes: Number(result.held), addBytes: Number(result.add) }
}
