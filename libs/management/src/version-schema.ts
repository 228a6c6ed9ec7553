import { findPluginVersion, listPluginVersionNumbers } from '@plugin-server/db'
import type { PluginConfigField } from '@plugin-server/plugin-vm'
import { Queryable } from './db-helpers'
import { ManagementError } from './interfaces'
import { findPluginSummary } from './list-plugins'

/**
 * The config fields a config is checked against once it runs `pinnedVersion` (null: the plugin's
 * current version). A version the plugin does not have is refused naming the versions it has.
 */
export async function versionSchema(db: Queryable, plugin: { id: number; name: string }, pinnedVersion: number | null): Promise<PluginConfigField[]> {
  if (pinnedVersion === null) return (await findPluginSummary(db, plugin.id)).config_schema
  if (!Number.isInteger(pinnedVersion) || pinnedVersion < 1) {
    throw new ManagementError(
      'validation_error',
      `pinned_version must be a positive integer (a version of plugin ${JSON.stringify(plugin.name)})`,
      'pinned_version',
    )
  }
  const found = await findPluginVersion(db, plugin.id, pinnedVersion)
  if (!found) throw await noSuchVersion(db, plugin, pinnedVersion, 'pinned_version')
  return found.plugin_json.config as PluginConfigField[]
}

/** "plugin "x" has no version 7 (it has versions 1, 2, 3)": the refusal names what can be chosen instead. */
export async function noSuchVersion(db: Queryable, plugin: { id: number; name: string }, version: number, field: string): Promise<ManagementError> {
  const versions = await listPluginVersionNumbers(db, plugin.id)
  const has = versions.length === 0 ? 'no stored versions' : `versions ${versions.join(', ')}`
  return new ManagementError('validation_error', `plugin ${JSON.stringify(plugin.name)} has no version ${version} (it has ${has})`, field)
}
