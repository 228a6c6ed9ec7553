import type { PluginManager, PluginConfigRecord } from '@plugin-server/plugin-runtime'
import { EXPORTING_METHODS, PluginMethodName } from '@plugin-server/plugin-vm'

const exporting = new Set<PluginMethodName>(EXPORTING_METHODS)

/**
 * The enabled configs that may have export work: their version exports one of the exporting
 * methods, or its exports are not known yet. Most configs of a large install only process events,
 * and each one read at a scrape is five Redis commands for nothing.
 */
export function exportingConfigs(manager: Pick<PluginManager, 'enabledConfigs' | 'methodsOf'>): PluginConfigRecord[] {
  return manager.enabledConfigs().filter((r) => manager.methodsOf(r.id)?.some((m) => exporting.has(m)) ?? true)
}
