import ivm from 'isolated-vm'
import { PluginDisposedError, PluginError, PluginLimitError, PluginStoreError } from '../errors'
import {
  BatchEventResult,
  BatchJsonResult,
  BatchText,
  CallOptions,
  MetricOperation,
  PluginEvent,
  PluginHost,
  PluginInstance,
  PluginInstanceOptions,
  PluginInstanceStats,
  PluginLimitKind,
  PluginMethodName,
  SerializedPluginError,
} from '../interfaces'
import { BackgroundCpuBudget } from './background-cpu-budget'
import { perEventResults, readBatchText } from './batch-text'
import { CaptureBudget, CaptureGrant } from './capture-budget'
import { cpuSampler } from './cpu-sampler'
import { FireFence, splitStamp } from './fire-fence'
import { HostModuleBridge } from './host-bridge'
import { HostTimers } from './host-timers'
import { resultCollector } from './result-collector'
import { RuntimeFunction, RuntimeRefs } from './runtime-refs'
import { cutText } from './cut-text'
import { Semaphore } from './semaphore'
import type { StoreFailures } from './store-failures'
import type { SyncPromiseGate } from './sync-promise-gate'

/**
 * Arguments over 1 KB enter the isolate as external strings, which V8 does not count as heap: a
 * batch that lives across an await is promoted and then freed only by a major GC, which the small
 * heap rarely needs (the soak run saw 90 MB per isolate and RSS rising). After this many bytes
 * passed in, the sandbox runs one (a few ms on a plugin's heap, well under 1 µs per event).
 */
const GC_AFTER_BYTES_IN = 4 * 1024 * 1024
/**
 * And after this many calls, whatever their size, at most once per GC_CALLS_MIN_INTERVAL_MS. V8
 * collects an isolate's old generation only when it reaches a limit or when its memory reducer runs,
 * and isolated-vm runs the reducer's delayed tasks only when the isolate next works: an isolate of
 * small, rare calls (a scheduled task, a quiet team's events) fills its heap with garbage for days.
 * 1 000 configs each given 300 one-event batches: 3.52 MB of RSS per config without this, 2.90–3.03
 * with it. A collection of a 2–3 MB heap costs ~2 ms, which on one-event calls in quick succession
 * was 20–35 µs more CPU per call (~25 %) every 64 calls; an isolate that busy reaches V8's own limit
 * soon enough, so the count only collects one that has not been collected for a while.
 */
const GC_AFTER_CALLS = 64
const GC_CALLS_MIN_INTERVAL_MS = 10_000

export interface InstanceParts {
  isolate: ivm.Isolate
  /** Disposes the isolate once no host work result is on its way into it. */
  gate: SyncPromiseGate
  context: ivm.Context
  refs: RuntimeRefs
  host: PluginHost
  bridge: HostModuleBridge
  timers: HostTimers
  abort: AbortController
  /** Holds a call until the host has handled the logs and captures it fired (see fire-fence.ts). */
  fence: FireFence
  pluginName: string
  /** The plugin's stack with its own files and lines in place of the bundle's (see load/stack-map.ts). */
  mapStack: (stack: string) => string
  configId: string | number
  timeoutMs: number
  memoryLimitMb: number
  maxConcurrentCalls: number
  description: { methods: PluginMethodName[]; jobNames: string[]; metrics: Record<string, MetricOperation> }
  /** CPU used outside calls; calls mark their start and end on it. */
  cpu: BackgroundCpuBudget
  /** posthog.capture allowances; each call opens one for its duration. */
  captures: CaptureBudget
  /** The server's stores failing under this instance's host calls (HostDispatcher records them). */
  storeFailures: StoreFailures
  onBreach?: PluginInstanceOptions['onBreach']
}

function isLimitMessage(error: unknown): boolean {
  return /memory limit|execution timed out|isolate is disposed/i.test(String((error as Error)?.message))
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
}

type Envelope = { ok: true; value: unknown } | { ok: false; error: SerializedPluginError }

/** What a call's deadline timer resolves to, so the race can tell it from the call's own result. */
const DEADLINE: unique symbol = Symbol('deadline')

/**
 * How long a call stopped at its deadline may take to settle. Disposal settles it at once in practice;
 * isolated-vm itself gives a terminating script 5 s before calling it a catastrophe.
 */
const SETTLE_AFTER_STOP_MS = 5_000

/** One plugin config in its own isolate. Every call runs under the deadline and the concurrency bound. */
export class IsolatePluginInstance implements PluginInstance {
  readonly pluginName: string
  readonly configId: string | number
  readonly methods: readonly PluginMethodName[]
  readonly jobNames: readonly string[]
  readonly metrics: Readonly<Record<string, MetricOperation>>
  private readonly semaphore: Semaphore
  private limitError: PluginLimitError | undefined
  private disposeReason: string | undefined
  private calls = 0
  private nextCallId = 1
  /** Calls whose result arrived: the next call tells the sandbox to let go of them (see sandbox/runner.ts). */
  private received: number[] = []
  /** String bytes passed in since the sandbox last collected garbage. */
  private bytesIn = 0
  private callsSinceGc = 0
  /** When the sandbox was last asked to collect (never, at first). */
  private collectedAt = -Infinity
  private lastUsedAt = Date.now()

  constructor(private readonly parts: InstanceParts) {
    this.pluginName = parts.pluginName
    this.configId = parts.configId
    this.methods = parts.description.methods
    this.jobNames = parts.description.jobNames
    this.metrics = parts.description.metrics
    this.semaphore = new Semaphore(parts.maxConcurrentCalls)
  }

  get disposed(): boolean {
    return this.disposeReason !== undefined || this.parts.isolate.isDisposed
  }

  get label(): string {
    return `plugin ${this.pluginName} (config ${this.configId})`
  }

  hasMethod(name: PluginMethodName): boolean {
    return this.methods.includes(name)
  }

  async call(method: PluginMethodName, args: readonly unknown[], options?: CallOptions): Promise<unknown> {
    const events = method === 'processEvent' || method === 'onEvent' ? 1 : null
    const mark = this.parts.storeFailures.mark()
    try {
      const json = await this.run(method, options, events, (timeout, grant) => this.apply('call', [JSON.stringify(args)], timeout, grant, method))
      return this.unwrap(method, json)
    } catch (error) {
      throw this.storeFailed(mark, method, error)
    }
  }

  async runJob(name: string, payload: unknown, options?: CallOptions): Promise<unknown> {
    const mark = this.parts.storeFailures.mark()
    try {
      const json = await this.run(`job ${name}`, options, null, (timeout, grant) =>
        this.apply('runJob', [JSON.stringify(payload ?? null)], timeout, grant, name),
      )
      return this.unwrap(`job ${name}`, json)
    } catch (error) {
      throw this.storeFailed(mark, `job ${name}`, error)
    }
  }

  async processEventBatch(events: readonly PluginEvent[], options?: CallOptions): Promise<BatchEventResult[]> {
    const results = await this.processEventBatchJson(
      events.map((e) => JSON.stringify(e)),
      options,
    )
    return results.map((r) => (r.ok ? { ok: true, event: r.json === null ? null : (JSON.parse(r.json) as PluginEvent) } : r))
  }

  async processEventBatchJson(eventsJson: readonly string[], options?: CallOptions): Promise<BatchJsonResult[]> {
    if (eventsJson.length === 0) return []
    return perEventResults(await this.processEventBatchText('[' + eventsJson.join(',') + ']', eventsJson.length, options))
  }

  async processEventBatchText(batchJson: string, count: number, options?: CallOptions): Promise<BatchText> {
    if (count === 0) return { codes: '', errors: [], events: '[]' }
    const mark = this.parts.storeFailures.mark()
    let text: string
    try {
      text = await this.run('processEvent', options, count, (timeout, grant) => this.apply('processBatch', [batchJson], timeout, grant))
      // A whole-call failure comes back as an envelope (see sandbox/runner.ts), which never starts like a batch's codes.
      if (text.startsWith('{')) {
        this.unwrap('processEvent', text)
        throw new PluginError(`${this.label}: processEvent answered a batch with a value instead of its results`, 'Error', false, undefined, 'no results')
      }
    } catch (error) {
      throw this.storeFailed(mark, 'processEvent', error)
    }
    const batch = readBatchText(text)
    for (const error of batch.errors) this.mapLazily(error)
    const cause = batch.errors.length > 0 ? this.parts.storeFailures.since(mark) : null
    if (cause !== null) {
      // One event failing after a store failed fails the batch: the chain must not keep any of them unenriched.
      const [first] = batch.errors
      const message = `${this.label}: processEvent failed on ${batch.errors.length} of ${count} events while ${cause}: ${first.name}: ${first.message}`
      throw new PluginStoreError(message, cause, first.name, first.stack, first.message)
    }
    return batch
  }

  /**
   * The plugin's failure as a PluginStoreError when a host call of this instance failed because a
   * server store did since `mark`; a limit breach or a disposal stays what it is.
   */
  private storeFailed(mark: number, label: string, error: unknown): unknown {
    if (!(error instanceof PluginError) || error instanceof PluginStoreError) return error
    const cause = this.parts.storeFailures.since(mark)
    if (cause === null) return error
    const message = `${this.label}: ${label} failed while ${cause}: ${error.pluginErrorName}: ${error.pluginMessage}`
    return new PluginStoreError(message, cause, error.pluginErrorName, error.pluginStack, error.pluginMessage)
  }

  /**
   * A batch can fail on every one of its events and ingestion reports a few of them: each error's
   * stack is mapped when it is first read, not for all of them up front.
   */
  private mapLazily(error: SerializedPluginError): void {
    const raw = error.stack
    if (raw === undefined) return
    let mapped: string | undefined
    Object.defineProperty(error, 'stack', {
      enumerable: true,
      configurable: true,
      get: () => (mapped ??= this.parts.mapStack(raw)),
      set: (value: string) => void (mapped = value),
    })
  }

  stats(): PluginInstanceStats {
    const heap = this.heapStatistics()
    return {
      calls: this.calls,
      inFlight: this.semaphore.inFlight,
      heapUsedBytes: heap?.used_heap_size ?? 0,
      heapCommittedBytes: heap?.total_heap_size ?? 0,
      externalBytes: heap?.externally_allocated_size ?? 0,
      lastUsedAt: this.lastUsedAt,
    }
  }

  cpuTimeNs(): bigint {
    try {
      return this.disposed ? 0n : this.parts.isolate.cpuTime
    } catch {
      return 0n
    }
  }

  async heapBytes(): Promise<number | null> {
    if (this.disposed) return null
    try {
      const heap = await this.parts.isolate.getHeapStatistics()
      return heap.used_heap_size + heap.externally_allocated_size
    } catch {
      // Disposed while the request waited for the isolate.
      return null
    }
  }

  exceed(limit: PluginLimitKind, description: string): PluginLimitError {
    return this.breach(limit, this.parts.timeoutMs, description)
  }

  /** Waits for the isolate's lock: while plugin code runs, this holds the caller until it yields. */
  private heapStatistics(): ivm.HeapStatistics | null {
    try {
      return this.disposed ? null : this.parts.isolate.getHeapStatisticsSync()
    } catch {
      // Disposed by a breach while this waited for the lock.
      return null
    }
  }

  dispose(reason = 'disposed'): void {
    if (this.disposeReason !== undefined) return
    this.disposeReason = reason
    this.parts.timers.clearAll()
    cpuSampler.unwatch(this.parts.cpu)
    this.parts.abort.abort()
    this.parts.fence.release()
    this.parts.bridge.clear()
    this.parts.gate.close()
  }

  /** Translates an isolated-vm failure outside a caller (timer, SDK callback) into a breach if it was one. */
  handleBackgroundError(error: unknown): void {
    const translated = this.translate(error, this.parts.timeoutMs, 'background task')
    if (!(translated instanceof PluginLimitError) && !this.disposed) {
      this.log('error', translated.message)
    }
  }

  private async apply(fn: RuntimeFunction, args: unknown[], timeout: number, grant: CaptureGrant, name?: string): Promise<string> {
    const ref = this.parts.refs.now(fn) ?? (await this.parts.refs.get(fn))
    const id = this.nextCallId++
    // The sandbox tags captures made while this call's code runs with its id.
    this.parts.captures.bind(id, grant)
    const options = { arguments: { copy: true }, result: { promise: true, copy: true }, timeout } as const
    const head = name === undefined ? [id, this.received.splice(0)] : [id, this.received.splice(0), name]
    for (const arg of args) if (typeof arg === 'string') this.bytesIn += arg.length
    let stamped: string
    try {
      stamped = (await ref.apply(undefined, [...head, ...args], options)) as string
      resultCollector.received(stamped)
      this.received.push(id)
      const byCalls = ++this.callsSinceGc >= GC_AFTER_CALLS && Date.now() - this.collectedAt >= GC_CALLS_MIN_INTERVAL_MS
      if ((byCalls || this.bytesIn >= GC_AFTER_BYTES_IN) && !this.disposed) {
        this.bytesIn = 0
        this.callsSinceGc = 0
        this.collectedAt = Date.now()
        this.parts.refs.ignored('collectGarbage', [], this.parts.isolate)
      }
    } catch (error) {
      // The runtime never throws, so anything but a limit/disposal is a plugin's unhandled rejection.
      if (this.disposed || isLimitMessage(error)) throw error
      this.log('warn', `unhandled promise rejection: ${describe(error)}`)
      stamped = (await (await this.parts.refs.get('collect')).apply(undefined, [id], options)) as string
    }
    const { result, fired } = splitStamp(stamped)
    // Inside the call's deadline and capture allowance: its logs and captures are handled as its own.
    await this.parts.fence.until(fired, timeout)
    return result
  }

  private unwrap(label: string, json: string): unknown {
    const envelope = JSON.parse(json) as Envelope
    if (envelope.ok) return envelope.value
    const { error } = envelope
    const stack = error.stack === undefined ? undefined : this.parts.mapStack(error.stack)
    throw new PluginError(`${this.label}: ${label} failed: ${error.name}: ${error.message}`, error.name, error.isRetryError, stack, error.message)
  }

  /** `events`: how many events the call is about (processEvent/onEvent), for the capture allowance. */
  private async run<T>(
    label: string,
    options: CallOptions | undefined,
    events: number | null,
    start: (timeout: number, captures: CaptureGrant) => Promise<T>,
  ): Promise<T> {
    this.assertAlive()
    await this.semaphore.acquire()
    const timeoutMs = options?.timeoutMs ?? this.parts.timeoutMs
    let timer: NodeJS.Timeout | undefined
    const captures = this.parts.captures.open(events, options?.capturedEvents)
    const cpuAtStart = options?.retriedWhenWaiting ? this.cpuTimeNs() : null
    this.parts.cpu.callStarted()
    try {
      this.assertAlive()
      this.calls++
      this.lastUsedAt = Date.now()
      // isolated-vm's timeout only covers synchronous execution; this covers awaited work too.
      const deadline = new Promise<typeof DEADLINE>((resolve) => {
        timer = setTimeout(() => resolve(DEADLINE), timeoutMs)
      })
      const call = start(timeoutMs, captures)
      const first = await Promise.race([call, deadline])
      if (first === DEADLINE) {
        const waited = cpuAtStart !== null && Number(this.cpuTimeNs() - cpuAtStart) / 1e6 < timeoutMs / 2
        throw await this.expire(call, timeoutMs, waited)
      }
      return first
    } catch (error) {
      throw this.translate(error, timeoutMs, label)
    } finally {
      clearTimeout(timer)
      this.parts.cpu.callEnded()
      this.parts.captures.close(captures)
      this.semaphore.release()
    }
  }

  /**
   * The call outlived its deadline. On a busy machine this timer can run before isolated-vm's
   * memory-limit rejection is delivered, so the cause is read from the isolate, not from the order
   * of arrival: an isolate isolated-vm already disposed hit its memory limit; otherwise it is
   * stopped here and the call's settlement says whether its heap was over the limit when it stopped.
   */
  private async expire(call: Promise<unknown>, timeoutMs: number, waited: boolean): Promise<PluginLimitError> {
    if (this.memoryExhausted()) return this.breach('memory')
    this.dispose('time limit exceeded')
    let grace: NodeJS.Timeout | undefined
    const settled = await Promise.race([
      call.then(
        () => undefined,
        (error: unknown) => error,
      ),
      new Promise<undefined>((resolve) => {
        grace = setTimeout(() => resolve(undefined), SETTLE_AFTER_STOP_MS)
      }),
    ])
    clearTimeout(grace)
    const hitMemory = /memory limit/i.test(String((settled as Error | undefined)?.message))
    if (hitMemory) return this.breach('memory')
    return waited
      ? this.breach('time', timeoutMs, `time limit (${timeoutMs} ms) waiting, not computing (not counted as a breach)`, false)
      : this.breach('time', timeoutMs)
  }

  /** isolated-vm disposes an isolate by itself only when it breaches its memory limit. */
  private memoryExhausted(): boolean {
    return this.disposeReason === undefined && this.parts.isolate.isDisposed
  }

  private assertAlive(): void {
    if (this.limitError) throw this.limitError
    if (this.disposed) throw new PluginDisposedError(`${this.label} is disposed (${this.disposeReason ?? 'isolate disposed'})`)
  }

  private translate(error: unknown, timeoutMs: number, label: string): Error {
    if (error instanceof PluginLimitError || error instanceof PluginError || error instanceof PluginDisposedError) return error
    // Cut first: a plugin's own error (one thrown from a getter of what a timer threw) can carry 50 MB.
    const message = cutText(String((error as Error)?.message ?? error), MAX_ERROR_MESSAGE)
    if (/memory limit/i.test(message) || this.memoryExhausted()) return this.breach('memory')
    if (/execution timed out/i.test(message)) return this.breach('time', timeoutMs)
    if (this.limitError) return this.limitError
    if (this.disposed) return new PluginDisposedError(`${this.label} was disposed during ${label} (${this.disposeReason ?? 'isolate disposed'})`)
    return new PluginError(`${this.label}: ${label} failed: ${message}`, (error as Error)?.name ?? 'Error', false, undefined, message)
  }

  /**
   * Disposes the isolate for a breach (the first one sticks) and tells the breach listener. A time or
   * CPU breach found on an isolate isolated-vm already disposed is the memory breach that disposed it.
   * Not `counted`: a call's deadline spent waiting that its caller retries (CallOptions.retriedWhenWaiting).
   */
  breach(reported: PluginLimitKind, timeoutMs = this.parts.timeoutMs, description?: string, counted = true): PluginLimitError {
    if (!this.limitError) {
      const limit = this.memoryExhausted() ? 'memory' : reported
      const text = description !== undefined && limit === reported ? description : this.limitText(limit, timeoutMs)
      this.limitError = new PluginLimitError(`${this.label} exceeded its ${text}`, limit)
      this.log('error', `${this.limitError.message}; the isolate was disposed`)
      this.dispose(`${limit} limit exceeded`)
      try {
        if (counted || limit !== reported) this.parts.onBreach?.(this.limitError)
      } catch {
        // The breach is contained whatever the listener does.
      }
    }
    return this.limitError
  }

  private limitText(limit: PluginLimitKind, timeoutMs: number): string {
    if (limit === 'time') return `time limit (${timeoutMs} ms)`
    if (limit === 'memory') return `memory limit (${this.parts.memoryLimitMb} MB)`
    return `background CPU limit (${this.parts.cpu.budgetMs} ms per minute)`
  }

  private log(level: 'error' | 'warn', message: string): void {
    try {
      this.parts.host.log({ level, message, pluginName: this.pluginName, configId: this.configId, timestamp: new Date() })
    } catch {
      // A failing log sink must not turn a contained breach into a crash.
    }
  }
}

/** An error message from the isolate as the host keeps it: its first 16 KB, as a log line's. */
const MAX_ERROR_MESSAGE = 16 * 1024
