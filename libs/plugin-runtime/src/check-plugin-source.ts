import { PluginLoadError, PluginSource } from '@plugin-server/plugin-vm'
import type { PluginConfigRecord } from './load-configs'

/** The plugin.json in the stored files is not the one the plugin was installed (and its configs validated) with. */
export class PluginSourceMismatchError extends PluginLoadError {}

/**
 * Configs were validated, and their secret fields chosen, against `plugins.plugin_json`; the code
 * runs with the plugin.json in `plugins.source`. Both come from one install, so a difference means
 * the row was changed behind the installer's back, and the plugin is not run with fields it never declared.
 */
export function checkPluginSource(record: PluginConfigRecord, source: PluginSource): void {
  if (source.pluginJson.name !== record.pluginName) {
    throw new PluginSourceMismatchError(
      `plugin ${record.pluginName}: the stored plugin.json names the plugin ${JSON.stringify(source.pluginJson.name)}, not ${JSON.stringify(record.pluginName)} (version ${record.pluginVersion})`,
    )
  }
  if (canonical(source.pluginJson.config ?? []) !== canonical(record.pluginJson.config ?? [])) {
    throw new PluginSourceMismatchError(
      `plugin ${record.pluginName}: the config fields of the stored plugin.json differ from those the plugin was installed with (version ${record.pluginVersion}); install the plugin again`,
    )
  }
}

/** JSON with object keys sorted: jsonb does not keep the order they were written in. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  )
}
