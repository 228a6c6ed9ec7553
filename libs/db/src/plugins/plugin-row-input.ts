export interface PluginRowInput {
  name: string
  description: string
  url: string | null
  pluginJson: unknown
  configSchema: unknown
  /** The raw files as stored (JSON), not the compiled code. */
  source: unknown
  contentHash: string
}
