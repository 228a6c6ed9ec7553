import { sourceFromFiles } from '@plugin-server/plugin-vm'
import type { PluginSource } from '@plugin-server/plugin-vm'
import type { Pool } from 'pg'
import { loadPluginFiles } from '@plugin-server/plugin-runtime'

/** Compiling takes longer than most dry runs; the same few plugins are tried again and again. */
const MAX_CACHED = 32
const cache = new Map<string, Promise<PluginSource>>()

/** The plugin's stored files compiled, once per plugin version and process. */
export function trySource(pool: Pool, pluginId: number, contentHash: string): Promise<PluginSource> {
  const key = `${pluginId}:${contentHash}`
  let source = cache.get(key)
  if (source) {
    // Re-inserted: the map's order is least recently used first.
    cache.delete(key)
    cache.set(key, source)
    return source
  }
  source = loadPluginFiles(pool, pluginId, contentHash).then((files) => sourceFromFiles(files))
  source.catch(() => cache.delete(key))
  cache.set(key, source)
  if (cache.size > MAX_CACHED) cache.delete(cache.keys().next().value as string)
  return source
}
