import type { Logger } from '@plugin-server/core'
import { readVersionCapabilities, recordVersionCapabilities, versionKey } from '@plugin-server/db'
import { capabilitiesOf, PLUGIN_METHOD_NAMES, PluginCapabilities, PluginInstance, PluginMethodName } from '@plugin-server/plugin-vm'
import type { Pool } from 'pg'
import type { PluginConfigRecord } from './load-configs'

/**
 * What the plugin version each config runs exports, read from its version row. A version's exports
 * never change (a new upload is a new version), so a known one is never read again. Versions not
 * learned yet (installed before migration 0009, or whose module did not evaluate at install) are
 * learned when this process loads one of their configs anyway, and recorded for every other process.
 */
export class CapabilitiesCache {
  private known = new Map<string, PluginCapabilities>()

  constructor(
    private readonly pool: Pool,
    private readonly logger: Logger,
  ) {}

  /** Reads the versions of `records` not known yet (one query), and forgets versions no config runs. */
  async refresh(records: readonly PluginConfigRecord[]): Promise<void> {
    const running = new Map(records.map((r) => [versionKey(keyOf(r)), keyOf(r)]))
    const missing = [...running].filter(([key]) => !this.known.has(key)).map(([, version]) => version)
    const read = await readVersionCapabilities(this.pool, missing)
    const next = new Map<string, PluginCapabilities>()
    for (const key of running.keys()) {
      const capabilities = this.known.get(key) ?? parse(read.get(key) ?? null)
      if (capabilities) next.set(key, capabilities)
    }
    this.known = next
  }

  /** null: not learned yet; only loading the plugin tells. */
  of(record: PluginConfigRecord): PluginCapabilities | null {
    return this.known.get(versionKey(keyOf(record))) ?? null
  }

  /** A config of a version not learned yet was loaded: its exports are now known here, and recorded for the other processes. */
  learned(record: PluginConfigRecord, instance: Pick<PluginInstance, 'methods' | 'jobNames'>): void {
    const key = versionKey(keyOf(record))
    if (this.known.has(key)) return
    const capabilities = capabilitiesOf(instance, record.pluginJson)
    this.known.set(key, capabilities)
    recordVersionCapabilities(this.pool, keyOf(record), capabilities, { onlyIfUnknown: true }).catch((err: Error) =>
      this.logger.warn(
        { plugin_id: record.pluginId, version: record.pluginVersion, err: err.message },
        'plugin version capabilities not recorded; learned again on next load',
      ),
    )
  }
}

function keyOf(record: PluginConfigRecord): { pluginId: number; version: number } {
  return { pluginId: record.pluginId, version: record.pluginVersion }
}

/** A row written by another build may name methods this one does not know: those are not ours to route. */
function parse(stored: { methods: string[]; jobs: string[]; publicJobs: string[]; buffersExports: boolean } | null): PluginCapabilities | null {
  if (!stored || !Array.isArray(stored.methods)) return null
  const methods = stored.methods.filter((m): m is PluginMethodName => (PLUGIN_METHOD_NAMES as readonly string[]).includes(m))
  return {
    methods,
    jobs: Array.isArray(stored.jobs) ? stored.jobs : [],
    publicJobs: Array.isArray(stored.publicJobs) ? stored.publicJobs : [],
    buffersExports: methods.includes('exportEvents'),
  }
}
