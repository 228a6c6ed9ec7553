/** Bounds on what a plugin package may contain; archives are untrusted input (zip bombs). */
export const MAX_PLUGIN_BYTES = 50 * 1024 * 1024
export const MAX_PLUGIN_FILES = 5000
export const SKIPPED_DIRS = new Set(['node_modules', '.git'])

/** Files of a plugin keyed by POSIX path relative to the plugin root. */
export type PluginFiles = Map<string, Buffer>

export function isSkippedPath(path: string): boolean {
  return path.split('/').some((segment) => SKIPPED_DIRS.has(segment))
}

/** Rejects absolute paths and `..` so an archive cannot name files outside the plugin. */
export function normalizeEntryPath(path: string): string | null {
  const parts = path
    .replace(/\\/g, '/')
    .split('/')
    .filter((p) => p !== '' && p !== '.')
  if (parts.length === 0 || parts.some((p) => p === '..')) return null
  return parts.join('/')
}
