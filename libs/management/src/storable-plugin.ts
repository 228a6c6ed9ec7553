import { ManagementError, PluginFileMap } from './interfaces'
import { unstorableText } from './storable-text'

/**
 * Refuses, naming the field or the file, a plugin whose plugin.json (stored as jsonb, its name,
 * description and url as text) or file paths (the keys of the stored source) hold text Postgres
 * cannot store: a NUL in a description was a raw database error, a 500, rather than a 400.
 */
export function assertStorablePlugin(pluginJson: unknown, files: PluginFileMap): void {
  for (const path of files.keys()) {
    const why = unstorableText(path)
    if (why !== null) throw new ManagementError('invalid_plugin', `the plugin's file path ${JSON.stringify(path)} ${why}`)
  }
  // Iterative: plugin.json is anyone's JSON, nested however deep.
  const pending: { value: unknown; at: string }[] = [{ value: pluginJson, at: 'plugin.json' }]
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { value, at } = next
    if (typeof value === 'string') {
      const why = unstorableText(value)
      if (why !== null) throw new ManagementError('invalid_plugin', `${at} ${why}`)
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => pending.push({ value: item, at: `${at}[${i}]` }))
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        const why = unstorableText(key)
        if (why !== null) throw new ManagementError('invalid_plugin', `${at} has a key that ${why}`)
        pending.push({ value: item, at: `${at}.${key}` })
      }
    }
  }
}
