import { exportEventsToIgnore } from '@plugin-server/plugin-runtime'
import type { ConfigExportOptions, ExportSettings } from './interfaces'

/**
 * PostHog's config fields for exportEvents: `exportEventsToIgnore` (comma-separated event names),
 * `exportEventsBufferBytes` and `exportEventsBufferSeconds`. A plugin declares them in its
 * plugin.json; values that are missing or not positive numbers fall back to the exporter's defaults.
 */
export function configExportOptions(config: Readonly<Record<string, unknown>>, settings: ExportSettings): ConfigExportOptions {
  const bytes = positive(config.exportEventsBufferBytes)
  const seconds = positive(config.exportEventsBufferSeconds)
  return {
    ignoredEvents: exportEventsToIgnore(config),
    maxBytes: bytes === null ? settings.bufferMaxBytes : Math.floor(bytes),
    maxAgeMs: seconds === null ? settings.bufferMaxAgeMs : seconds * 1000,
  }
}

function positive(value: unknown): number | null {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN
  return Number.isFinite(n) && n > 0 ? n : null
}
