import { exportEventsToIgnore } from '@plugin-server/plugin-runtime'
import type { ConfigExportOptions, ExportSettings } from './interfaces'

/** The longest a config's exportEventsBufferSeconds may hold its events, as in PostHog. */
export const CONFIG_BUFFER_MAX_SECONDS = 600

/**
 * PostHog's config fields for exportEvents: `exportEventsToIgnore` (comma-separated event names),
 * `exportEventsBufferBytes` and `exportEventsBufferSeconds`. A plugin declares them in its
 * plugin.json; values that are missing or not positive numbers fall back to the exporter's defaults.
 * A team sets them, so they are held to the operator's bounds (EXPORT_BUFFER_CONFIG_MAX_BYTES, 600 s):
 * a buffer of any size or age would sit in the Redis every team shares and be flushed as one job.
 */
export function configExportOptions(config: Readonly<Record<string, unknown>>, settings: ExportSettings): ConfigExportOptions {
  const bytes = positive(config.exportEventsBufferBytes)
  const seconds = positive(config.exportEventsBufferSeconds)
  return {
    ignoredEvents: exportEventsToIgnore(config),
    maxBytes: bytes === null ? settings.bufferMaxBytes : Math.max(1, Math.floor(Math.min(bytes, settings.bufferConfigMaxBytes))),
    maxAgeMs: seconds === null ? settings.bufferMaxAgeMs : Math.min(seconds, CONFIG_BUFFER_MAX_SECONDS) * 1000,
  }
}

function positive(value: unknown): number | null {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN
  return Number.isFinite(n) && n > 0 ? n : null
}
