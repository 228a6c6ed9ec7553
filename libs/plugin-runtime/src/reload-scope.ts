import type { ReloadMessage } from '@plugin-server/core'
import type { ConfigScope, PluginConfigRecord } from './load-configs'

/** What a re-read covers: every enabled config, or those of a scope. */
export type ReadScope = ConfigScope | 'all'

/**
 * The configs a reload message's change can touch. A team's configs when it names the team: a
 * config's create, reorder or delete moves its team's other configs too, and a team holds a
 * handful. Its plugin's when it names only the plugin (new version, rollback, delete). Everything
 * when it names neither, as a version from before scoped reloads may send (during a rolling upgrade),
 * or when a field is not an id.
 */
export function scopeOf(message: ReloadMessage): ReadScope {
  const { teamId, pluginConfigId, pluginId } = message
  if (teamId !== undefined) return isId(teamId) ? { configIds: [], teamIds: [teamId], pluginIds: [] } : 'all'
  if (pluginConfigId !== undefined) return isId(pluginConfigId) ? { configIds: [pluginConfigId], teamIds: [], pluginIds: [] } : 'all'
  if (pluginId !== undefined) return isId(pluginId) ? { configIds: [], teamIds: [], pluginIds: [pluginId] } : 'all'
  return 'all'
}

/** A burst of reloads is read once: the union of what they name. */
export function mergeScopes(a: ReadScope | null, b: ReadScope): ReadScope {
  if (a === null) return b
  if (a === 'all' || b === 'all') return 'all'
  const union = (x: readonly number[], y: readonly number[]) => [...new Set([...x, ...y])]
  return { configIds: union(a.configIds, b.configIds), teamIds: union(a.teamIds, b.teamIds), pluginIds: union(a.pluginIds, b.pluginIds) }
}

/** Whether a re-read of `scope` reads a config (a config's team and plugin never change). */
export function covering(scope: ReadScope): (record: PluginConfigRecord) => boolean {
  if (scope === 'all') return () => true
  const [ids, teams, plugins] = [new Set(scope.configIds), new Set(scope.teamIds), new Set(scope.pluginIds)]
  return (record) => ids.has(record.id) || teams.has(record.teamId) || plugins.has(record.pluginId)
}

function isId(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) > 0
}
