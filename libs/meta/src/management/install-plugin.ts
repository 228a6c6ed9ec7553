import { nextPluginVersion, recordVersionCapabilities } from '@plugin-server/db'
import { readArchiveBuffer, readPluginFiles, sourceFromFiles } from '@plugin-server/plugin-vm'
import { contentHash, filesToJson } from './content-hash'
import { inTransaction } from './db-helpers'
import { InstallResult, ManagementContext, ManagementError, PluginFileMap, PluginSummary } from './interfaces'
import { asManagementError } from './load-error'
import { PLUGIN_SUMMARY_COLUMNS } from './list-plugins'
import { notifyWorkers } from './notify'
import { learnCapabilities } from '../runtime/learn-capabilities'

/**
 * Stores a plugin under its plugin.json name. It is compiled first so a broken plugin is refused
 * here with the loader's message, but the raw files are stored: a newer compiler can rebuild them.
 */
export async function installPlugin(ctx: ManagementContext, files: PluginFileMap): Promise<InstallResult> {
  let source
  try {
    source = await sourceFromFiles(files)
  } catch (err) {
    throw asManagementError(err)
  }
  const { pluginJson } = source
  const hash = contentHash(files)
  const stored = filesToJson(files)
  // Not refused here when the module does not evaluate: it stays unknown and fails to load in the workers with their load error, as before.
  const capabilities = await learnCapabilities(source).catch(() => null)
  const result = await inTransaction(ctx.pool, async (client): Promise<InstallResult> => {
    // Two installs of the same new plugin at once would both miss the SELECT; the lock orders them.
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`plugin:${pluginJson.name}`])
    const { rows } = await client.query<PluginSummary>(`SELECT ${PLUGIN_SUMMARY_COLUMNS} FROM plugins WHERE name = $1`, [pluginJson.name])
    const existing = rows[0]
    if (existing && existing.content_hash === hash) {
      return {
        status: 'unchanged',
        message: `plugin ${JSON.stringify(pluginJson.name)} version ${existing.version} has identical source; nothing to do`,
        plugin: existing,
      }
    }
    const values = [pluginJson.name, pluginJson.description ?? '', pluginJson.url ?? null, pluginJson, JSON.stringify(pluginJson.config), stored, hash]
    const { rows: saved } = existing
      ? await client.query<PluginSummary>(
          `UPDATE plugins SET name = $1, description = $2, url = $3, plugin_json = $4, config_schema = $5, source = $6, content_hash = $7,
             version = $9, updated_at = now() WHERE id = $8 RETURNING ${PLUGIN_SUMMARY_COLUMNS}`,
          [...values, existing.id, await nextPluginVersion(client, existing.id)],
        )
      : await client.query<PluginSummary>(
          `INSERT INTO plugins (name, description, url, plugin_json, config_schema, source, content_hash) VALUES ($1, $2, $3, $4, $5, $6, $7)
           RETURNING ${PLUGIN_SUMMARY_COLUMNS}`,
          values,
        )
    const plugin = saved[0]
    await client.query('INSERT INTO plugin_versions (plugin_id, version, content_hash, plugin_json, source) VALUES ($1, $2, $3, $4, $5)', [
      plugin.id,
      plugin.version,
      hash,
      pluginJson,
      stored,
    ])
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
