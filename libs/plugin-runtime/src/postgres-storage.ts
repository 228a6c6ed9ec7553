import { deletePluginStorageValue, readPluginStorageValue, writePluginStorageValue } from '@plugin-server/db'
import type { Pool } from 'pg'
import type { PluginStorage } from '@plugin-server/plugin-vm'
import { megabytes } from './megabytes'

/** Per pool (a process's), the end of each team's queue of limited writes. */
const teamWrites = new WeakMap<Pool, Map<number, Promise<void>>>()

/**
 * `write` after the team's earlier writes through this pool. A limited write holds its connection
 * while it waits for the team's advisory lock, so writes of one team's configs at once (two per
 * instance) held as many of the pool's connections, which the worker's own inserts and every other
 * team's plugins use: five configs took all ten. One at a time, a team holds one.
 */
function afterTeamWrites<T>(pool: Pool, teamId: number, write: () => Promise<T>): Promise<T> {
  let tails = teamWrites.get(pool)
  if (!tails) teamWrites.set(pool, (tails = new Map()))
  const result = (tails.get(teamId) ?? Promise.resolve()).then(write)
  const tail = result.then(
    () => undefined,
    () => undefined,
  )
  tails.set(teamId, tail)
  void tail.then(() => {
    if (tails.get(teamId) === tail) tails.delete(teamId)
  })
  return result
}

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
    const json = JSON.stringify(value)
    const write =
      this.teamLimitBytes === 0
        ? await writePluginStorageValue(this.pool, this.pluginConfigId, key, json, 0)
        : await afterTeamWrites(this.pool, this.teamId, () => writePluginStorageValue(this.pool, this.pluginConfigId, key, json, this.teamLimitBytes))
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
