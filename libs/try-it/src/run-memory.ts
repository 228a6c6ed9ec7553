import type { PluginInstance } from '@plugin-server/plugin-vm'

/**
 * A run's isolates together may hold this many times one isolate's limit (PLUGIN_MEMORY_LIMIT_MB):
 * TryGate's bound of runs per process assumes what each run holds is about two full isolates.
 */
export const TRY_RUN_ISOLATE_LIMITS = 2

/**
 * Holds what one dry run's isolates hold together (heap used plus external memory, as the workers'
 * team budget reads it) to `limitBytes`. A chain keeps every plugin it set up alive until its
 * teardown, as the workers do, so they cannot be loaded one at a time; instead the run's isolates
 * are read after each load and step, and once they hold more than the limit together the run is
 * stopped: every isolate disposed, every later step failing with the reason. Between readings the
 * isolate of the step running can grow by up to its own limit.
 */
export class RunMemory {
  private readonly instances = new Set<PluginInstance>()
  /** Why the run was stopped; null while it runs. */
  stopped: string | null = null

  constructor(
    readonly limitBytes: number,
    private readonly limitText: string,
  ) {}

  add(instance: PluginInstance): void {
    this.instances.add(instance)
  }

  /** Reads every live isolate of the run; over the limit, stops the run and answers why. */
  async check(): Promise<string | null> {
    if (this.stopped !== null) return this.stopped
    const live = [...this.instances].filter((i) => !i.disposed)
    const held = (await Promise.all(live.map((i) => i.heapBytes()))).reduce<number>((sum, bytes) => sum + (bytes ?? 0), 0)
    if (held <= this.limitBytes || this.stopped !== null) return this.stopped
    this.stopped =
      `the dry run was stopped: its ${live.length} plugins' isolates held ${held} bytes together, over the ${this.limitBytes} ` +
      `a dry run's isolates may hold (${this.limitText}); try fewer plugins, or plugins that keep less in memory`
    for (const instance of this.instances) instance.dispose()
    return this.stopped
  }
}
