import { ENTRY_OVERHEAD_BYTES } from '@plugin-server/plugin-vm'
import type { PluginCursor } from '@plugin-server/plugin-vm'
import type { HeldBytes } from './held-bytes'

/** `meta.utils.cursor` of a dry run: starts from the config's real counters, moves only here. */
export class OverlayCursor implements PluginCursor {
  private readonly values = new Map<string, number>()

  /** `read` null: a plugin without a config yet, whose counters do not exist. */
  constructor(
    private readonly read: ((key: string) => Promise<number | null>) | null,
    private readonly held: HeldBytes,
  ) {}

  async init(key: string, initialValue = 0): Promise<void> {
    if ((await this.current(key)) === null) this.keep(key, initialValue)
  }

  async increment(key: string, incrementBy = 1): Promise<number> {
    const next = ((await this.current(key)) ?? 0) + incrementBy
    this.keep(key, next)
    return next
  }

  private keep(key: string, value: number): void {
    if (!this.values.has(key)) this.held.charge(ENTRY_OVERHEAD_BYTES + Buffer.byteLength(key))
    this.values.set(key, value)
  }

  private async current(key: string): Promise<number | null> {
    if (this.values.has(key)) return this.values.get(key)!
    return this.read ? this.read(key) : null
  }
}
