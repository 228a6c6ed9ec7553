import { deletePluginStorageValue, readPluginStorageValue, writePluginStorageValue } from '@plugin-server/db'
import type { Pool } from 'pg'
import type { PluginStorage } from '@plugin-server/plugin-vm'

/** `meta.storage`: durable key/value per plugin config in Postgres. Setting undefined deletes. */
export class PostgresPluginStorage implements PluginStorage {
  constructor(
    private readonly pool: Pool,
    private readonly pluginConfigId: number,
  ) {}

  async get(key: string, defaultValue: unknown): Promise<unknown> {
    const stored = await readPluginStorageValue(this.pool, this.pluginConfigId, key)
    return stored.found ? stored.value : defaultValue
  }

  async set(key: string, value: unknown): Promise<void> {
    if (value === undefined) return this.del(key)
    await writePluginStorageValue(this.pool, this.pluginConfigId, key, JSON.stringify(value))
  }

  async del(key: string): Promise<void> {
    await deletePluginStorageValue(this.pool, this.pluginConfigId, key)
  }
}
