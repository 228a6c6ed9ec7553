import {
  findPluginRecord,
  insertPluginRow,
  insertPluginVersion,
  lockPluginName,
  nextPluginVersion,
  PluginRowInput,
  recordVersionCapabilities,
  updatePluginRow,
} from '@plugin-server/db'
import type { PluginConfigField } from '@plugin-server/plugin-vm'
import { declaredPublicJobs, readArchiveBuffer, readPluginFiles, sourceFromFiles } from '@plugin-server/plugin-vm'
import { contentHash, filesToJson } from './content-hash'
import { inTransaction } from './db-helpers'
import { InstallResult, ManagementContext, ManagementError, PluginFileMap, PluginSummary } from './interfaces'
import { asManagementError } from './load-error'
import { notifyWorkers } from './notify'
import { assertPluginName } from './plugin-name'
import { assertStorablePlugin } from './storable-plugin'
import { assertStorableDefaults } from './validate-config'
import { learnCapabilities } from './learn-capabilities'

/**
 * Stores a plugin under its plugin.json name. It is compiled first so a broken plugin is refused
 * here with the loader's message, but the raw files are stored: a newer compiler can rebuild them.
 */
export async function installPlugin(ctx: ManagementContext, files: PluginFileMap): Promise<InstallResult> {
  let source
  try {
    source = await sourceFromFiles(files, { checkImports: true })
  } catch (err) {
    throw asManagementError(err)
  }
  const { pluginJson } = source
  assertPluginName(pluginJson.name)
  assertStorablePlugin(pluginJson, files)
  assertStorableDefaults(pluginJson.config)
  const hash = contentHash(files)
  const stored = filesToJson(files)
  // Not refused here when the module does not evaluate: it stays unknown and fails to load in the workers with their load error, as before.
  const capabilities = await learnCapabilities(source).catch(() => null)
  const result = await inTransaction(ctx.pool, async (client): Promise<InstallResult> => {
    // Two installs of the same new plugin at once would both find no row; the lock orders them.
    await lockPluginName(client, pluginJson.name)
    const existing: PluginSummary | null = await findPluginRecord<PluginConfigField[]>(client, { name: pluginJson.name })
    if (existing && existing.content_hash === hash) {
      return {
        status: 'unchanged',
        message: `plugin ${JSON.stringify(pluginJson.name)} version ${existing.version} has identical source; nothing to do`,
        plugin: existing,
      }
    }
    const row: PluginRowInput = {
      name: pluginJson.name,
      description: pluginJson.description ?? '',
      url: pluginJson.url ?? null,
      pluginJson,
      configSchema: JSON.stringify(pluginJson.config),
      source: stored,
      contentHash: hash,
    }
    const plugin: PluginSummary = existing
      ? await updatePluginRow<PluginConfigField[]>(client, existing.id, await nextPluginVersion(client, existing.id), row)
      : await insertPluginRow<PluginConfigField[]>(client, row)
    const publicJobOrder = declaredPublicJobs(pluginJson)
    await insertPluginVersion(client, { pluginId: plugin.id, version: plugin.version, contentHash: hash, pluginJson, source: stored, publicJobOrder })
    if (capabilities) await recordVersionCapabilities(client, { pluginId: plugin.id, version: plugin.version }, capabilities)
    return existing
      ? { status: 'updated', message: `plugin ${JSON.stringify(plugin.name)} updated to version ${plugin.version}`, plugin }
      : { status: 'installed', message: `plugin ${JSON.stringify(plugin.name)} installed (version 1)`, plugin }
  })
  if (result.status !== 'unchanged') {
    ctx.logger.info({ pluginId: result.plugin.id, plugin: result.plugin.name, version: result.plugin.version, contentHash: hash }, `plugin ${result.status}`)
    await notifyWorkers(ctx, { reason: `plugin ${result.status}`, pluginId: result.plugin.id })
  }
  return result
}

/** A directory, .zip or .tar.gz on disk. */
export async function installPluginFromPath(ctx: ManagementContext, path: string): Promise<InstallResult> {
  let files
  try {
    files = await readPluginFiles(path)
  } catch (err) {
    throw asManagementError(err)
  }
  return installPlugin(ctx, files)
}

export type ArchiveKind = 'zip' | 'tar.gz'

/** An uploaded archive, still in memory (the admin API's POST /api/plugins). */
export async function installPluginArchive(ctx: ManagementContext, archive: Buffer, kind: ArchiveKind): Promise<InstallResult> {
  let files
  try {
    files = readArchiveBuffer(archive, `upload.${kind}`)
  } catch (err) {
    // Only parsing happens here, so any failure (zlib's included) means a bad archive, not a server fault.
    if (err instanceof ManagementError) throw err
    const converted = asManagementError(err)
    throw converted instanceof ManagementError ? converted : new ManagementError('invalid_plugin', `cannot read the ${kind} archive: ${(err as Error).message}`)
  }
  return installPlugin(ctx, files)
}
