import type { Config } from '@plugin-server/core'
import type { ExportSettings } from './interfaces'

/** The exporter's settings come from the one validated configuration (EXPORT_* variables). */
export function exportSettings(config: Pick<Config, 'export' | 'timeScale'>): ExportSettings {
  return { ...config.export, timeScale: config.timeScale }
}
