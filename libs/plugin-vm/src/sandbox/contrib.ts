/** @posthog/plugin-contrib's createBuffer: collects items and flushes by size or after a timeout. */
interface BufferOptions<T> {
  limit?: number
  timeoutSeconds?: number
  onFlush?: (batch: T[], points: number) => void | Promise<void>
}

export function createBuffer<T>(options: BufferOptions<T> = {}) {
  const limit = options.limit ?? 1024 * 1024
  const timeoutMs = (options.timeoutSeconds ?? 10) * 1000
  const buffer = {
    _buffer: [] as T[],
    _timeout: null as ReturnType<typeof setTimeout> | null,
    points: 0,
    add(item: T, points = 1): void {
      if (this.points + points > limit) void this.flush()
      this._buffer.push(item)
      this.points += points
      if (this._timeout === null) this._timeout = setTimeout(() => void this.flush(), timeoutMs)
    },
    async flush(): Promise<void> {
      if (this._timeout !== null) {
        clearTimeout(this._timeout)
        this._timeout = null
      }
      if (this._buffer.length === 0) return
      const [batch, points] = [this._buffer, this.points]
      this._buffer = []
      this.points = 0
      await options.onFlush?.(batch, points)
    },
  }
  return buffer
}
