import { performance } from 'perf_hooks'
import { ZLIB_DECOMPRESS_METHODS } from '../../modules'
import { byteSize } from '../byte-size'
import { WORK_OPS, workLabel, ZLIB_INLINE_MAX_OUTPUT } from '../host-sync-ops'
import { HostWorkPool, sharedHostWorkPool } from './host-work-pool'
import { fullAt, holdBytes, releaseBytes, wouldPass, type SharedByteBudget } from '../../byte-budget'

/** Inputs up to this size run inline on the host: cheap enough that a worker thread would cost more. */
export const INLINE_WORK_BYTES = 64 * 1024

/**
 * Work whose cost does not follow its input's size, whatever that is: jsonwebtoken's sign and verify
 * parse the key, and a ~400-byte encrypted PKCS#8 key with a huge PBKDF2 iteration count (or a
 * 16 000-bit RSA key) held the host's thread for minutes, past any deadline — host code cannot be
 * stopped. They always run in a worker thread, which the deadline terminates.
 */
function inWorkerOnly(op: string, args: unknown[]): boolean {
  return op === 'jwt' && args[0] !== 'decode'
}

/** A decompression, whose output a small input does not bound: inline only up to ZLIB_INLINE_MAX_OUTPUT. */
function decompresses(op: string, args: unknown[]): boolean {
  return op === 'zlib' && ZLIB_DECOMPRESS_METHODS.includes(String(args[0]))
}

export interface HostWorkOptions {
  /** Whose work this is (a team): the pool's threads take turns between owners. */
  owner: string
  /** Largest input of one task (PLUGIN_HOST_WORK_MAX_BYTES). */
  maxBytes: number
  /** The instance's deadline, bounding every task it asks for. */
  timeoutMs: number
  /** Aborted when the isolate is disposed: its running tasks are stopped. */
  signal: AbortSignal
  /** A task ran past the deadline (the isolate is breached for time). */
  onTimeout: () => void
  /** Host time spent inline for the isolate, which its own CPU clock does not see. */
  onInlineTime: (ms: number) => void
  /**
   * What a task's input counts against while it waits for a thread and runs (its team's and the
   * process's host-held bytes, PluginInstanceOptions.shared): each isolate has one task at a time,
   * but a team's many configs each hold theirs, on the host, while the threads are busy.
   */
  held?: SharedByteBudget
  pool?: HostWorkPool
}

/**
 * zlib, hashing and jsonwebtoken for one isolate. Every task is checked against the size cap; small
 * ones run inline, larger ones in the shared worker pool while the isolate waits (applySyncPromise),
 * so the host's event loop stays free and the plugin keeps a synchronous API.
 */
export class HostWork {
  constructor(private readonly options: HostWorkOptions) {}

  /** Whether `op` is host work (rather than a cheap synchronous operation). */
  static handles(op: string): boolean {
    return op in WORK_OPS
  }

  /**
   * The synchronous path, for inputs the sandbox measured as small. Its estimate and ours differ a
   * little (UTF-16 length against UTF-8 bytes), hence the margin; past it the work is refused here.
   */
  inline(op: string, args: unknown[]): unknown {
    const size = this.check(op, args)
    if (size > 4 * INLINE_WORK_BYTES || inWorkerOnly(op, args)) throw new Error(`${workLabel(op, args)}: cannot run inline (an input of ${size} bytes)`)
    return this.runInline(op, args)
  }

  async run(op: string, args: unknown[]): Promise<unknown> {
    const size = this.check(op, args)
    if (size <= INLINE_WORK_BYTES && !inWorkerOnly(op, args)) {
      try {
        return this.runInline(op, args)
      } catch (error) {
        // A decompression inflating past what is cheap here: done again in a worker thread, up to the full output limit.
        if (!decompresses(op, args) || (error as { code?: string }).code !== 'ERR_BUFFER_TOO_LARGE') throw error
      }
    }
    const { held } = this.options
    const label = workLabel(op, args)
    if (held && !holdBytes(held, size)) {
      // `held` and every budget it sits within are shared ones, each named.
      const full = (fullAt(held, size) ?? held) as SharedByteBudget
      throw new RangeError(`${label}: refused: ${wouldPass(full, size, held)} (${full.variable})`)
    }
    try {
      return await this.inPool(op, args, label)
    } finally {
      if (held) releaseBytes(held, size)
    }
  }

  private inPool(op: string, args: unknown[], label: string): Promise<unknown> {
    const { timeoutMs, signal, onTimeout } = this.options
    return (this.options.pool ?? sharedHostWorkPool()).run({
      owner: this.options.owner,
      op,
      args,
      signal,
      timeoutMs,
      timeoutError: (started) => {
        // Waiting for a thread is not the plugin's doing: other plugins (another team's, maybe) hold them
        // all. Its call fails, but its isolate is not breached, which would count towards disabling it.
        if (!started) return new Error(`${label} waited the whole time limit (${timeoutMs} ms) for a host work thread: other plugins' work held them all`)
        onTimeout()
        return new Error(`${label} was stopped at the time limit (${timeoutMs} ms)`)
      },
    })
  }

  private runInline(op: string, args: unknown[]): unknown {
    // Inline, a decompression stops at ZLIB_INLINE_MAX_OUTPUT (run() then tries a worker thread).
    if (decompresses(op, args)) args = [...args.slice(0, 3), ZLIB_INLINE_MAX_OUTPUT]
    const started = performance.now()
    try {
      return WORK_OPS[op](args)
    } finally {
      this.options.onInlineTime(performance.now() - started)
    }
  }

  private check(op: string, args: unknown[]): number {
    if (!HostWork.handles(op)) throw new Error(`unknown host work operation ${op}`)
    const { maxBytes } = this.options
    const size = inputBytes(op, args, maxBytes)
    if (size > maxBytes) {
      throw new RangeError(`${workLabel(op, args)}: the input is larger than ${maxBytes} bytes, the host work limit (PLUGIN_HOST_WORK_MAX_BYTES)`)
    }
    return size
  }
}

/** Bytes a task works through: the data for zlib and hashes, token/payload and key for jsonwebtoken, the text for url. */
function inputBytes(op: string, args: unknown[], limit: number): number {
  if (op === 'zlib') return byteSize(args[1], limit)
  if (op === 'crypto.digest') return byteSize(args[1] ?? '', limit) + byteSize(args[2], limit)
  return byteSize(args.slice(1), limit)
}
