import { PluginLoadError } from '../errors'
import { PluginSource } from '../interfaces'
import { checkBridgedImports } from './check-bridged-imports'
import { compilePlugin } from './compile'
import { PluginFiles } from './limits'
import { parsePluginJson } from './plugin-json'
import { readPluginFiles } from './read-files'

const MAIN_FALLBACKS = ['index.ts', 'index.js', 'src/index.ts', 'dist/index.js']

function findEntry(files: PluginFiles, main: string | undefined, name: string): string {
  if (main !== undefined) {
    const normalized = main.replace(/^\.\//, '')
    if (!files.has(normalized)) throw new PluginLoadError(`plugin ${name}: main file "${main}" (plugin.json main) not found`)
    return normalized
  }
  const found = MAIN_FALLBACKS.find((candidate) => files.has(candidate))
  if (!found) throw new PluginLoadError(`plugin ${name}: no main in plugin.json and none of ${MAIN_FALLBACKS.join(', ')} exists`)
  return found
}

export interface SourceOptions {
  /**
   * Also refuse imports of what a bridged module does not offer (checkBridgedImports): for a plugin
   * being installed or run by hand, not one already stored, which loads as it did when installed.
   */
  checkImports?: boolean
}

/** Validates and compiles plugin files already in memory (e.g. from the database). */
export async function sourceFromFiles(files: PluginFiles, options: SourceOptions = {}): Promise<PluginSource> {
  const json = files.get('plugin.json')
  if (!json) throw new PluginLoadError('plugin.json not found at the plugin root')
  const pluginJson = parsePluginJson(json.toString('utf8'))
  const entry = findEntry(files, pluginJson.main, pluginJson.name)
  const compiled = await compilePlugin(files, entry, pluginJson.name)
  if (options.checkImports) await checkBridgedImports(files, entry, pluginJson.name)
  return { name: pluginJson.name, pluginJson, entry, ...compiled }
}

/** Reads a plugin from a directory, `.zip` or `.tar.gz` and compiles it, checking it as an install does. */
export async function readPlugin(path: string): Promise<PluginSource> {
  return sourceFromFiles(await readPluginFiles(path), { checkImports: true })
}
