import { listPluginConfigVersions, lockPluginName, makePluginVersionCurrent } from '@plugin-server/db'
import { inTransaction } from './db-helpers'
import { ManagementContext, SetCurrentVersionResult } from './interfaces'
import { findPluginSummary } from './list-plugins'
import { notifyWorkers } from './notify'
import { noSuchVersion } from './version-schema'

/**
 * Makes a stored version the one configs without a pin run: a rollback after a bad install (or a
 * roll forward again). Pinned configs stay where they are; the next install becomes current as usual.
 * Workers reload like after an install, so every config following the plugin switches within the reload bound.
 */
export async function setCurrentVersion(ctx: ManagementContext, pluginRef: number | string, version: number): Promise<SetCurrentVersionResult> {
  const result = await inTransaction(ctx.pool, async (client): Promise<SetCurrentVersionResult> => {
    const found = await findPluginSummary(client, pluginRef)
    // The install lock: a rollback and an install of the same plugin do not interleave.
    await lockPluginName(client, found.name)
    const name = JSON.stringify(found.name)
    if (found.version === version) {
      const following = (await listPluginConfigVersions(client, found.id)).filter((c) => c.pinned_version === null).length
      return {
        status: 'unchanged',
        message: `plugin ${name} already runs version ${version}; nothing to do`,
        plugin: found,
        previous_version: version,
        following_configs: following,
      }
    }
    const changed = await makePluginVersionCurrent(client, found.id, version)
    if (!changed) throw await noSuchVersion(client, found, version, 'version')
    const plugin = await findPluginSummary(client, found.id)
    const following = (await listPluginConfigVersions(client, found.id)).filter((c) => c.pinned_version === null).length
    const direction = version < changed.previous_version ? 'rolled back' : 'moved'
    return {
      status: 'changed',
      message: `plugin ${name} ${direction} from version ${changed.previous_version} to version ${version}; ${following} config(s) without a pin now run it`,
      plugin,
      previous_version: changed.previous_version,
      following_configs: following,
    }
  })
  if (result.status === 'changed') {
    ctx.logger.info(
      { pluginId: result.plugin.id, plugin: result.plugin.name, version, previousVersion: result.previous_version, contentHash: result.plugin.content_hash },
      'plugin current version changed',
    )
    await notifyWorkers(ctx, { reason: 'plugin version changed', pluginId: result.plugin.id })
  }
  return result
}
