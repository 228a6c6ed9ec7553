import type { Pool } from 'pg'
import type { PluginStorage } from '@plugin-server/plugin-vm'

/** `meta.storage`: durable key/value per plugin config in Postgres. Setting undefined deletes. */
export class PostgresPluginStorage implements PluginStorage {
  constructor(
    private readonly pool: Pool,
    private readonly pluginConfigId: number,
  ) {}

  async get(key: string, defaultValue: unknown): Promise<unknown> {
    const { rows } = await this.pool.query<{ value: unknown }>('SELECT value FROM plugin_storage WHERE plugin_config_id = $1 AND key = $2', [
      this.pluginConfigId,
      key,
    ])
    return rows.length === 0 ? defaultValue : rows[0].value
  }

  async set(key: string, value: unknown): Promise<void> {
    if (value === undefined) return this.del(key)
    await this.pool.query(
      `INSERT INTO plugin_storage (plugin_config_id, key, value) VALUES ($1, $2, $3::jsonb)
       ON CONFLICT (plugin_config_id, key) DO UPDATE SET value = EXCLUDED.value`,
      [this.pluginConfigId, key, JSON.stringify(value)],
    )
  }

  async del(key: string): Promise<void> {
    await this.pool.query('DELETE FROM plugin_storage WHERE plugin_config_id = $1 AND key = $2', [this.pluginConfigId, key])
  }
}
