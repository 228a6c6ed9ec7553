import type { MetricOperation } from '@plugin-server/plugin-vm'

interface PendingUpdate {
  name: string
  operation: MetricOperation
  value: number
}

const OPERATIONS: ReadonlySet<string> = new Set(['sum', 'max', 'min'])

/**
 * One config's `meta.metrics` updates, merged until the end of the current turn and then written:
 * one Redis script per metric per turn instead of one per call. A plugin incrementing in a loop
 * sent the Redis every team shares one script run per increment, each a host call too, for a few µs
 * of the plugin's. Sums add up and max and min keep the extreme, so a merged write leaves the value
 * the writes one by one would have.
 */
export class MetricUpdates {
  private pending = new Map<string, PendingUpdate>()
  private scheduled = false

  constructor(
    private readonly write: (name: string, operation: MetricOperation, value: number) => Promise<unknown>,
    private readonly failed: (name: string, error: Error) => void,
  ) {}

  add(name: string, operation: MetricOperation, value: number): void {
    if (!OPERATIONS.has(operation)) return this.failed(name, new Error(`metric ${name}: unknown operation ${String(operation)}`))
    if (!Number.isFinite(value)) return this.failed(name, new Error(`metric ${name}: value must be a finite number, got ${String(value)}`))
    const key = `${operation}\n${name}`
    const current = this.pending.get(key)
    if (!current) this.pending.set(key, { name, operation, value })
    else current.value = operation === 'sum' ? current.value + value : operation === 'max' ? Math.max(current.value, value) : Math.min(current.value, value)
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(() => this.flush())
  }

  /** Writes what is pending now (each write's failure goes to `failed`). */
  flush(): void {
    this.scheduled = false
    const updates = [...this.pending.values()]
    this.pending = new Map()
    for (const { name, operation, value } of updates) this.write(name, operation, value).catch((error: Error) => this.failed(name, error))
  }
}
