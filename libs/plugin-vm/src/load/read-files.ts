import { promises as fs } from 'fs'
import { join, relative, sep } from 'path'
import { gunzipSync } from 'zlib'
import { PluginLoadError } from '../errors'
import { isSkippedPath, MAX_PLUGIN_BYTES, MAX_PLUGIN_FILES, normalizeEntryPath, PluginFiles } from './limits'
import { readTar } from './tar'
import { readZip } from './zip'

/** A directory is held to an archive's limits: its files are stored (twice, source and bundle) like an archive's. */
async function walk(root: string, dir: string, files: PluginFiles, total = { bytes: 0 }): Promise<void> {
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name)
    const rel = relative(root, full).split(sep).join('/')
    if (isSkippedPath(rel)) continue
    if (entry.isDirectory()) await walk(root, full, files, total)
    else if (entry.isFile()) {
      if (files.size >= MAX_PLUGIN_FILES) throw new PluginLoadError(`plugin has more than ${MAX_PLUGIN_FILES} files`)
      total.bytes += (await fs.stat(full)).size
      if (total.bytes > MAX_PLUGIN_BYTES)
        throw new PluginLoadError(`plugin folder ${root} holds more than ${MAX_PLUGIN_BYTES} bytes (node_modules and .git not counted)`)
      files.set(rel, await fs.readFile(full))
    }
  }
}

/** GitHub archives wrap everything in one `<repo>-<sha>/` folder; the plugin root is inside it. */
function stripSingleTopFolder(files: PluginFiles): PluginFiles {
  if (files.has('plugin.json')) return files
  const tops = new Set([...files.keys()].map((p) => p.split('/')[0]))
  if (tops.size !== 1 || [...files.keys()].some((p) => !p.includes('/'))) return files
  const prefix = [...tops][0] + '/'
  return new Map([...files].map(([path, data]) => [path.slice(prefix.length), data]))
}

function cleanArchive(raw: Map<string, Buffer>): PluginFiles {
  const files: PluginFiles = new Map()
  for (const [path, data] of raw) {
    const normalized = normalizeEntryPath(path)
    if (normalized === null) throw new PluginLoadError(`archive entry ${JSON.stringify(path)} escapes the plugin folder`)
    // `./plugin.json` beside `plugin.json`: which one a reviewer unpacks and which one is installed must not differ.
    if (files.has(normalized)) throw new PluginLoadError(`archive has two entries for ${JSON.stringify(normalized)}`)
    if (!isSkippedPath(normalized)) files.set(normalized, data)
  }
  return stripSingleTopFolder(files)
}

export function readArchiveBuffer(archive: Buffer, fileName: string): PluginFiles {
  const lower = fileName.toLowerCase()
  if (lower.endsWith('.zip')) return cleanArchive(readZip(archive))
  if (lower.endsWith('.tar.gz') || lower.endsWith('.tgz')) {
    return cleanArchive(readTar(gunzipSync(archive, { maxOutputLength: MAX_PLUGIN_BYTES })))
  }
  if (lower.endsWith('.tar')) return cleanArchive(readTar(archive))
  throw new PluginLoadError(`unsupported archive type for ${fileName} (use .zip, .tar.gz or a directory)`)
}

/** Reads a plugin from a directory or a .zip/.tar.gz archive into memory. */
export async function readPluginFiles(path: string): Promise<PluginFiles> {
  let stat
  try {
    stat = await fs.stat(path)
  } catch {
    throw new PluginLoadError(`plugin path ${path} does not exist`)
  }
  if (stat.isDirectory()) {
    const files: PluginFiles = new Map()
    await walk(path, path, files)
    return stripSingleTopFolder(files)
  }
  if (stat.size > MAX_PLUGIN_BYTES) throw new PluginLoadError(`archive ${path} is larger than ${MAX_PLUGIN_BYTES} bytes`)
  return readArchiveBuffer(await fs.readFile(path), path)
}
