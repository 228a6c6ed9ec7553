import type { PluginStorage } from '@plugin-server/plugin-vm'

/**
 * `meta.storage` of a dry run: reads fall through to the config's stored values until the plugin
 * writes a key; writes (and deletes) stay here.
 */
export class OverlayStorage implements PluginStorage {
  /** null: deleted during the dry run. */
  private readonly written = new Map<string, { json: string } | null>()

  constructor(private readonly real: PluginStorage | null) {}

  async get(key: string, defaultValue: unknown): Promise<unknown> {
    const written = this.written.get(key)
    if (written === null) return defaultValue
    // Stored as JSON, as Postgres would: a plugin changing what it wrote does not change the stored copy.
    if (written) return JSON.parse(written.json)
    return this.real ? this.real.get(key, defaultValue) : defaultValue
  }

  async set(key: string, value: unknown): Promise<void> {
    this.written.set(key, value === undefined ? null : { json: JSON.stringify(value) ?? 'null' })
  }

  async del(key: string): Promise<void> {
    this.written.set(key, null)
  }
}
