import { performance } from 'perf_hooks'
import { byteSize } from '../byte-size'
import { WORK_OPS, workLabel } from '../host-sync-ops'
import { HostWorkPool, sharedHostWorkPool } from './host-work-pool'

/** Inputs up to this size run inline on the host: cheap enough that a worker thread would cost more. */
export const INLINE_WORK_BYTES = 64 * 1024

export interface HostWorkOptions {
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
    if (size > 4 * INLINE_WORK_BYTES) throw new Error(`${workLabel(op, args)}: an input of ${size} bytes cannot run inline`)
    return this.runInline(op, args)
  }

  async run(op: string, args: unknown[]): Promise<unknown> {
    const size = this.check(op, args)
    if (size <= INLINE_WORK_BYTES) return this.runInline(op, args)
    const { timeoutMs, signal, onTimeout } = this.options
    const label = workLabel(op, args)
    return (this.options.pool ?? sharedHostWorkPool()).run({
      op,
      args,
      signal,
      timeoutMs,
      timeoutError: () => {
        onTimeout()
        return new Error(`${label} was stopped at the time limit (${timeoutMs} ms)`)
      },
    })
  }

  private runInline(op: string, args: unknown[]): unknown {
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

/** Bytes a task works through: the data for zlib and hashes, token/payload and key for jsonwebtoken. */
function inputBytes(op: string, args: unknown[], limit: number): number {
  if (op === 'zlib') return byteSize(args[1], limit)
  if (op === 'crypto.digest') return byteSize(args[1] ?? '', limit) + byteSize(args[2], limit)
  return byteSize(args.slice(1), limit)
}
