import { deletePluginStorageValue, readPluginStorageValue, writePluginStorageValue } from '@plugin-server/db'
import type { Pool } from 'pg'
import type { PluginStorage } from '@plugin-server/plugin-vm'
import { megabytes } from './megabytes'

/**
 * `meta.storage`: durable key/value per plugin config in Postgres. Setting undefined deletes. What a
 * team's configs store together is held to `teamLimitBytes` (PLUGIN_TEAM_STORAGE_LIMIT_MB; 0: none,
 * for a reader such as Try it's): a plugin storing in a loop would otherwise fill the database every
 * team's events go to.
 */
export class PostgresPluginStorage implements PluginStorage {
  constructor(
    private readonly pool: Pool,
    private readonly pluginConfigId: number,
    private readonly teamId: number,
    private readonly teamLimitBytes: number,
  ) {}

  async get(key: string, defaultValue: unknown): Promise<unknown> {
    const stored = await readPluginStorageValue(this.pool, this.pluginConfigId, key)
    return stored.found ? stored.value : defaultValue
  }

  async set(key: string, value: unknown): Promise<void> {
    if (value === undefined) return this.del(key)
    const write = await writePluginStorageValue(this.pool, this.pluginConfigId, key, JSON.stringify(value), this.teamLimitBytes)
    if (!write.written) {
      throw new Error(
        `storage.set refused: team ${this.teamId}'s plugins store ${megabytes(write.heldBytes)} together and this would add ${megabytes(write.addBytes)}, ` +
          `over PLUGIN_TEAM_STORAGE_LIMIT_MB (${megabytes(this.teamLimitBytes)}); delete keys (storage.del) or store less`,
      )
    }
  }

  async del(key: string): Promise<void> {
    await deletePluginStorageValue(this.pool, this.pluginConfigId, key)
  }
}
