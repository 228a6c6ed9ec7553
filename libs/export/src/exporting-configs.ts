import type { PluginManager, PluginConfigRecord } from '@plugin-server/plugin-runtime'
import { EXPORTING_METHODS } from '@plugin-server/plugin-vm'

/**
 * The enabled configs that may have export work: their version exports one of the exporting
 * methods, or its exports are not known yet. Most configs of a large install only process events,
 * and each one read at a scrape is five Redis commands for nothing.
 */
export function exportingConfigs(manager: Pick<PluginManager, 'enabledConfigs' | 'exportsAnyOf'>): PluginConfigRecord[] {
  return manager.enabledConfigs().filter((r) => manager.exportsAnyOf(r.id, EXPORTING_METHODS) ?? true)
}
