import { SourceMap } from 'module'
import type { PluginSource } from '../interfaces'

/** The script runs inside a wrapper (see wrapPlugin) whose first line comes before the bundle's. */
export const WRAPPER_LINES = 1
/** esbuild names the plugin's files `plugin:<path>`, after the namespace it loaded them from. */
const SOURCE_PREFIX = 'plugin:'

/** Parsed once per loaded version, on its first reported error; null when it has no usable map. */
const parsed = new WeakMap<PluginSource, SourceMap | null>()

function mapOf(source: PluginSource): SourceMap | null {
  let map = parsed.get(source)
  if (map === undefined) {
    try {
      map = source.sourceMap === undefined ? null : new SourceMap(JSON.parse(source.sourceMap))
    } catch {
      map = null
    }
    parsed.set(source, map)
  }
  return map
}

/** The name the isolate gives the plugin's script, as its frames show it. */
export function scriptName(source: Pick<PluginSource, 'name' | 'entry'>): string {
  return `plugin/${source.name}/${source.entry}`
}

/**
 * Positions mapped in one text; the rest stay as they are. A stack has at most a few dozen frames,
 * while a log line the plugin fills with its own positions had every one looked up in the map on
 * the host's event loop (a 16 KB line: ~650 lookups), however few of its lines the log quota keeps.
 */
export const MAX_MAPPED_POSITIONS = 64

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/**
 * A stack from the plugin's isolate with its bundle positions (`plugin/<name>/index.js:27:42`)
 * replaced by the plugin's own file and line (`plugin/<name>/boom.js:3:36`). Positions the map
 * does not cover, or that it attributes to anything but one of the plugin's files, stay as they are.
 */
export function mapPluginStack(source: PluginSource, stack: string): string {
  // Most texts (log lines) name no position of the plugin's: no map is parsed, no pattern made.
  if (!stack.includes(scriptName(source))) return stack
  const map = mapOf(source)
  if (map === null) return stack
  const frame = new RegExp(`${escapeRegExp(scriptName(source))}:(\\d+):(\\d+)`, 'g')
  let mapped = 0
  return stack.replace(frame, (whole, line: string, column: string) => {
    if (mapped++ >= MAX_MAPPED_POSITIONS) return whole
    const entry = map.findEntry(Number(line) - 1 - WRAPPER_LINES, Number(column) - 1)
    if (!('originalSource' in entry) || !entry.originalSource.startsWith(SOURCE_PREFIX)) return whole
    const file = entry.originalSource.slice(SOURCE_PREFIX.length)
    return `plugin/${source.name}/${file}:${entry.originalLine + 1}:${entry.originalColumn + 1}`
  })
}
