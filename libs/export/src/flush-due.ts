import type { PluginManager } from '@plugin-server/plugin-runtime'
import { configExportOptions } from './config-export-options'
import type { ExportBuffer } from './export-buffer'
import type { ExportSettings } from './interfaces'

/** A flush unfinished for this long is taken to be an exporter's that died mid-flush. */
const STALE_FLUSH_MS = 5000

/**
 * Flushes the buffers that reached their age (every exporter runs this; concurrent flushes of one
 * buffer make one batch) and finishes flushes abandoned by a dead exporter. `all` flushes every
 * buffer regardless of age (shutdown). Returns the number of batches flushed. A config whose flush
 * fails is told to `failed` and the sweep goes on: abandoned flushes come first, so one that fails
 * every time would otherwise hold back every other team's buffer for good.
 */
export async function flushDue(
  buffer: ExportBuffer,
  manager: PluginManager,
  settings: ExportSettings,
  all: boolean,
  failed: (configId: number, error: Error) => void,
): Promise<number> {
  const now = Date.now()
  const records = new Map(manager.enabledConfigs().map((r) => [r.id, r]))
  const due = new Set<number>(await buffer.unfinished(now - STALE_FLUSH_MS))
  for (const { configId, since } of await buffer.buffered()) {
    const record = records.get(configId)
    const maxAgeMs = record ? configExportOptions(record.config, settings).maxAgeMs : settings.bufferMaxAgeMs
    if (all || now - since >= maxAgeMs) due.add(configId)
  }
  let flushed = 0
  for (const configId of due) {
    try {
      flushed += (await buffer.flush(configId)).length
    } catch (error) {
      failed(configId, error as Error)
    }
  }
  return flushed
}
