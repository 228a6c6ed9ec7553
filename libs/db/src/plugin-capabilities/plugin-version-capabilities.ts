/** plugin_versions.capabilities as stored (plugin-vm's PluginCapabilities, which libs/db does not import). */
export interface PluginVersionCapabilities {
  methods: string[]
  jobs: string[]
  publicJobs: string[]
  buffersExports: boolean
}

/** One version a config runs. */
export interface PluginVersionKey {
  pluginId: number
  version: number
}

export function versionKey(key: PluginVersionKey): string {
  return `${key.pluginId}:${key.version}`
}
