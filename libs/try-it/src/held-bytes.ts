/**
 * What one dry run's overlays (cache values and lists, storage JSON, cursor keys) may hold
 * together, all its plugins included: they live in the capture process's memory until the run
 * ends, and a plugin writing in a loop would otherwise fill it.
 */
export const MAX_TRY_HELD_BYTES = 32 * 1024 * 1024

/** The run's count of what its overlays hold; an overwrite or delete gives the old value's bytes back. */
export class HeldBytes {
  bytes = 0

  constructor(readonly limit = MAX_TRY_HELD_BYTES) {}

  /** Throws, so the write is refused and the plugin's call rejects, when `delta` would take the run past its limit. */
  charge(delta: number): void {
    if (delta > 0 && this.bytes + delta > this.limit) {
      throw new Error(
        `refused: this dry run's cache, storage and cursor writes would hold ${this.bytes + delta} bytes together, over its limit of ${this.limit} (MAX_TRY_HELD_BYTES); a dry run keeps what its plugins write in memory`,
      )
    }
    this.bytes += delta
  }
}
