import { PluginError, pluginStackFrames } from '@plugin-server/plugin-vm'
import type { PluginInstance, PluginMethodName, PluginSource, PluginVm, SharedBounds } from '@plugin-server/plugin-vm'
import type { CallRecorder } from './call-recorder'
import type { Deadline } from './deadline'
import type { RecordingHost } from './recording-host'
import type { RunMemory } from './run-memory'
import type { TryMethod, TrySettings, TryStep } from './interfaces'
import type { TrySpec } from './load-try-targets'
import { EVENT_LIMITS } from './redactor'

export interface TryPluginParts {
  spec: TrySpec
  host: RecordingHost
  recorder: CallRecorder
  deadline: Deadline
  settings: TrySettings
  vm: PluginVm
  source: () => Promise<PluginSource>
  /** Shared by the run's plugins: read after each load and step, it stops the run past its limit. */
  memory: RunMemory
  /** The run's sockets and what the host holds for it (MAX_TRY_HOST_HELD_BYTES), which each plugin's own bounds sit within. */
  shared: SharedBounds
}

/** A step and, when the call succeeded, what it returned. */
export interface StepOutcome {
  step: TryStep
  ok: boolean
  value?: unknown
}

function errorText(err: unknown): string {
  if (err instanceof PluginError) return `${err.pluginErrorName}: ${err.pluginMessage}`
  return err instanceof Error ? err.message : String(err)
}

/**
 * One plugin of a dry run in its own isolate: loads it, runs its methods as steps (each with the
 * logs and host calls it caused) within the workers' limits and the run's deadline, and disposes it.
 */
export class TryPlugin {
  private instance: PluginInstance | null = null
  /** Loaded and set up: it takes part in the rest of the run, as a ready config does on the workers. */
  ready = false

  constructor(private readonly parts: TryPluginParts) {}

  /** How ingestion names a config in `$plugins_succeeded` and friends. */
  get label(): string {
    const { spec } = this.parts
    return `${spec.pluginName} (${spec.configId ?? 'new'})`
  }

  get config(): Readonly<Record<string, unknown>> {
    return this.parts.spec.config
  }

  /** False once a limit breach disposed the isolate: the workers would not tear such an instance down either. */
  get alive(): boolean {
    return this.instance !== null && !this.instance.disposed
  }

  has(method: PluginMethodName): boolean {
    return this.instance?.hasMethod(method) ?? false
  }

  /** Loads the plugin and runs setupPlugin; a step only when there is something to show (setup ran, or loading failed). */
  async start(): Promise<TryStep[]> {
    const { spec, settings, deadline } = this.parts
    if (spec.loadError) return [this.failed('setupPlugin', `the plugin was not loaded: ${spec.loadError}`)]
    if (deadline.remaining() === 0) return [this.failed('setupPlugin', this.deadlineText())]
    if (this.parts.memory.stopped !== null) return [this.failed('setupPlugin', `not loaded: ${this.parts.memory.stopped}`)]
    const started = performance.now()
    try {
      const source = await this.parts.source()
      this.instance = await this.parts.vm.load(source, this.parts.host, {
        configId: spec.configId ?? 'new',
        memoryLimitMb: settings.memoryLimitMb,
        timeoutMs: Math.max(1, Math.min(settings.timeoutMs, deadline.remaining())),
        fetchAllowedHosts: settings.fetchAllowedHosts,
        closedServices: settings.closedServices,
        shared: this.parts.shared,
      })
    } catch (err) {
      return [this.step('setupPlugin', started, this.parts.recorder.redactor.text(errorText(err)))]
    }
    this.parts.memory.add(this.instance)
    if (!this.instance.hasMethod('setupPlugin')) {
      const stopped = await this.parts.memory.check()
      if (stopped !== null) return [this.step('setupPlugin', started, stopped)]
      this.ready = true
      return []
    }
    const outcome = await this.run('setupPlugin', (instance, timeoutMs) => instance.call('setupPlugin', [], { timeoutMs }))
    this.ready = outcome.ok
    return [outcome.step]
  }

  /** Calls `method` under the deadline; errors inside the plugin become the step's error, never the caller's. */
  async run(method: TryMethod, call: (instance: PluginInstance, timeoutMs: number) => Promise<unknown>): Promise<StepOutcome> {
    const { instance } = this
    if (!instance) return { step: this.failed(method, 'the plugin is not loaded'), ok: false }
    const remaining = this.parts.deadline.remaining()
    if (remaining === 0) return { step: this.failed(method, this.deadlineText()), ok: false }
    const { memory } = this.parts
    if (memory.stopped !== null) return { step: this.failed(method, `not run: ${memory.stopped}`), ok: false }
    const timeoutMs = Math.min(this.parts.settings.timeoutMs, remaining)
    const started = performance.now()
    try {
      const value = await call(instance, timeoutMs)
      await hostTasksDrained()
      // The step that took the run's isolates past their limit fails with why, as its plugin's doing.
      const stopped = await memory.check()
      if (stopped !== null) return { step: this.step(method, started, stopped), ok: false }
      return { step: this.step(method, started, null), ok: true, value }
    } catch (err) {
      await hostTasksDrained()
      const stopped = await memory.check()
      if (stopped !== null) return { step: this.step(method, started, stopped), ok: false }
      let text = errorText(err)
      // The call's limit was what was left of the run, not the workers' limit the message implies.
      if (timeoutMs < this.parts.settings.timeoutMs && /time limit/.test(text)) text += ` (all that was left of the dry run's ${this.parts.deadline.ms} ms)`
      const step = this.step(method, started, null)
      this.fail(step, text, err instanceof PluginError ? err.pluginStack : undefined)
      return { step, ok: false }
    }
  }

  /** A value the plugin returned, as a step shows it: JSON, secrets scrubbed, bounded. */
  shown(value: unknown): TryStep['output'] {
    return this.parts.recorder.redactor.json(value, EVENT_LIMITS)
  }

  /** Marks a step failed for what the plugin returned (a call can succeed and still give something unusable) or threw on one event. */
  fail(step: TryStep, message: string, stack?: string): void {
    const shown = this.parts.recorder.redactor.text(message)
    // The plugin let the dry run's refusal of a request of this step through: not its error (the workers would send it).
    const refusal = step.host_calls.find((call) => call.not_sent !== undefined && shown.includes(call.not_sent))?.not_sent
    if (refusal !== undefined) {
      step.not_sent = refusal
      return
    }
    step.error = shown
    this.addStack(step, stack)
  }

  /** The plugin's frames, scrubbed of secrets like the rest of the step. */
  private addStack(step: TryStep, stack: string | undefined): void {
    const frames = pluginStackFrames(stack)
    if (frames !== null) step.stack = this.parts.recorder.redactor.text(frames)
  }

  /** A warning on a step that still succeeded (what it returned was partly ignored), as the plugin's logs would hold it. */
  warn(step: TryStep, message: string): void {
    step.logs.push({ level: 'warn', message: this.parts.recorder.redactor.text(message) })
  }

  dispose(): void {
    this.instance?.dispose()
  }

  private deadlineText(): string {
    return `not run: the dry run's ${this.parts.deadline.ms} ms deadline had passed`
  }

  private failed(method: TryMethod, error: string): TryStep {
    return this.step(method, performance.now(), error)
  }

  private step(method: TryMethod, started: number, error: string | null): TryStep {
    const { spec, recorder } = this.parts
    return {
      plugin_config_id: spec.configId,
      plugin: spec.pluginName,
      method,
      duration_ms: Math.round((performance.now() - started) * 10) / 10,
      error,
      ...recorder.take(),
    }
  }
}

/**
 * Logs come from the isolate fire-and-forget; on a busy machine the last ones can still be queued
 * for this thread when the call's result arrives. One turn of the event loop lets them land, so
 * they are shown with the step that wrote them rather than the next one.
 */
function hostTasksDrained(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}
