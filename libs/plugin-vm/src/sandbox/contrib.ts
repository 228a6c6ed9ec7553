/**
 * @posthog/plugin-contrib's createBuffer: collects items and flushes by points or after a timeout,
 * with that package's behaviour, which export plugins were written against: a limit of 10 points and
 * 60 s unless given; a flush before an add that would pass the limit, and at once after an add that
 * did (an item larger than the limit alone goes out by itself, without waiting for the timer); the
 * state on `_buffer`, `_points` and `_options`; `add` and `flush` work detached from the buffer
 * (`items.forEach(buffer.add)`).
 */
interface BufferOptions<T> {
  limit: number
  timeoutSeconds: number
  onFlush?: (batch: T[], points: number) => void | Promise<void>
}

export function createBuffer<T>(options: Partial<BufferOptions<T>> = {}) {
  const buffer = {
    _buffer: [] as T[],
    _timeout: null as ReturnType<typeof setTimeout> | null,
    _points: 0,
    _options: { limit: 10, timeoutSeconds: 60, ...options } as BufferOptions<T>,
    add: (item: T, points = 1): void => {
      if (buffer._points && buffer._points + points > buffer._options.limit) void buffer.flush()
      buffer._buffer.push(item)
      buffer._points += points
      if (buffer._points > buffer._options.limit) void buffer.flush()
      else if (buffer._timeout === null) buffer._timeout = setTimeout(() => void buffer.flush(), buffer._options.timeoutSeconds * 1000)
    },
    flush: async (): Promise<void> => {
      if (buffer._timeout !== null) {
        clearTimeout(buffer._timeout)
        buffer._timeout = null
      }
      if (buffer._buffer.length === 0 && buffer._points === 0) return
      const batch = buffer._buffer
      const points = buffer._points
      buffer._buffer = []
      buffer._points = 0
      await buffer._options.onFlush?.(batch, points)
    },
  }
  return buffer
}
