import { ENTRY_OVERHEAD_BYTES } from '@plugin-server/plugin-vm'
import type { PluginStorage } from '@plugin-server/plugin-vm'
import type { HeldBytes } from './held-bytes'

/**
 * `meta.storage` of a dry run: reads fall through to the config's stored values until the plugin
 * writes a key; writes (and deletes) stay here.
 */
export class OverlayStorage implements PluginStorage {
  /** null: deleted during the dry run. */
  private readonly written = new Map<string, { json: string } | null>()

  /** What is written counts against the run's `held` bytes; a delete keeps only the key. */
  constructor(
    private readonly real: PluginStorage | null,
    private readonly held: HeldBytes,
  ) {}

  async get(key: string, defaultValue: unknown): Promise<unknown> {
    const written = this.written.get(key)
    if (written === null) return defaultValue
    // Stored as JSON, as Postgres would: a plugin changing what it wrote does not change the stored copy.
    if (written) return JSON.parse(written.json)
    return this.real ? this.real.get(key, defaultValue) : defaultValue
  }

  async set(key: string, value: unknown): Promise<void> {
    this.keep(key, value === undefined ? null : { json: JSON.stringify(value) ?? 'null' })
  }

  async del(key: string): Promise<void> {
    this.keep(key, null)
  }

  private keep(key: string, value: { json: string } | null): void {
    const previous = this.written.get(key)
    const before = previous === undefined ? 0 : bytesOf(key, previous)
    this.held.charge(bytesOf(key, value) - before)
    this.written.set(key, value)
  }
}

function bytesOf(key: string, value: { json: string } | null): number {
  return ENTRY_OVERHEAD_BYTES + Buffer.byteLength(key) + (value === null ? 0 : Buffer.byteLength(value.json))
}
