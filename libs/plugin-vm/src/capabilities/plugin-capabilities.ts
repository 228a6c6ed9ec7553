import type { PluginInstance, PluginJson, PluginMethodName } from '../interfaces'

/**
 * What a plugin version exports, known without running it: recorded on its version row at install
 * so roles that only route work (export hand-off, scheduler chains, job checks) read it instead of
 * loading the plugin. Everything here is fixed by the module's code, never by a config's values.
 */
export interface PluginCapabilities {
  /** Exported plugin methods, runEvery* included. */
  methods: PluginMethodName[]
  /** Keys of `export const jobs`. */
  jobs: string[]
  /** Keys of plugin.json `publicJobs`. */
  publicJobs: string[]
  /** `exportEvents` is exported: events are buffered per config and flushed in batches. */
  buffersExports: boolean
}

/**
 * The names of plugin.json `publicJobs` in the order the plugin declares them (the first is the one a
 * form offers first), recorded with the version since its stored jsonb keeps another order.
 */
export function declaredPublicJobs(pluginJson: PluginJson): string[] {
  const publicJobs = pluginJson.publicJobs
  return publicJobs && typeof publicJobs === 'object' && !Array.isArray(publicJobs) ? Object.keys(publicJobs) : []
}

/** The capabilities of a loaded instance (the exports are read when the module is evaluated, before setupPlugin). */
export function capabilitiesOf(instance: Pick<PluginInstance, 'methods' | 'jobNames'>, pluginJson: PluginJson): PluginCapabilities {
  return {
    methods: [...instance.methods].sort(),
    jobs: [...instance.jobNames].sort(),
    publicJobs: declaredPublicJobs(pluginJson).sort(),
    buffersExports: instance.methods.includes('exportEvents'),
  }
}
