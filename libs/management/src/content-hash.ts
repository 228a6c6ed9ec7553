import { createHash } from 'node:crypto'
import { PluginFileMap } from './interfaces'

/** Independent of file order and archive format, so the same sources always hash the same. */
export function contentHash(files: PluginFileMap): string {
  const hash = createHash('sha256')
  for (const path of [...files.keys()].sort()) {
    const data = files.get(path) as Buffer
    hash.update(`${path}\0${data.length}\0`)
    hash.update(data)
  }
  return hash.digest('hex')
}

/** Stored as `{ "<path>": "<base64>" }` so any later compiler can rebuild the plugin. */
export function filesToJson(files: PluginFileMap): Record<string, string> {
  return Object.fromEntries([...files.keys()].sort().map((path) => [path, (files.get(path) as Buffer).toString('base64')]))
}

export function filesFromJson(source: Record<string, string>): PluginFileMap {
  return new Map(Object.entries(source).map(([path, base64]) => [path, Buffer.from(base64, 'base64')]))
}
