import ivm from 'isolated-vm'
import v8 from 'v8'
import { PluginLimitError, PluginLoadError } from '../errors'
import { checkDeclaredNames } from './declared-names'
import {
  MetricOperation,
  PLUGIN_METHOD_NAMES,
  PluginAttachment,
  PluginHost,
  PluginInstance,
  PluginInstanceOptions,
  PluginMethodName,
  PluginSource,
  PluginVm,
} from '../interfaces'
import { BackgroundCpuBudget } from './background-cpu-budget'
import { CaptureBudget } from './capture-budget'
import { cpuSampler } from './cpu-sampler'
import { FireFence, splitStamp } from './fire-fence'
import { HostDispatcher } from './host-dispatcher'
import { StoreFailures } from './store-failures'
import { HostModuleBridge } from './host-bridge'
import { HostTimers } from './host-timers'
import { RuntimeRefs } from './runtime-refs'
import { HostWork, INLINE_WORK_BYTES } from './host-work/host-work'
import { bytes } from './host-sync-ops'
import { IsolatePluginInstance } from './isolate-plugin-instance'
import { trackIsolate } from './live-isolates'
import { runtimeSource } from './runtime-bundle'
import { runtimeSnapshot } from './runtime-snapshot'
import { withSemiSpace } from './semi-space'
import { compileCached } from './script-cache'
import { mapPluginStack, scriptName } from '../load/stack-map'
import { StoreBounds } from './store-bounds'
import { SyncPromiseGate } from './sync-promise-gate'
import { createHash } from 'crypto'
import { fetchGuard } from '../net/fetch-guard'
import { MAX_SOCKETS_PER_INSTANCE, SocketCount } from '../net/socket-guard'
import type { ByteBudget } from '../byte-budget'

/** What a plugin may declare at top level without exporting it: its methods (processEventBatch too), jobs and metrics. */
const LOCAL_NAMES = [...PLUGIN_METHOD_NAMES, 'processEventBatch', 'jobs', 'metrics']

/** Legacy plugins declare top-level functions without exporting them; the wrapper hands them back. */
function wrapPlugin(code: string): string {
  const locals = LOCAL_NAMES.map((n) => `${n}: typeof ${n} === 'undefined' ? undefined : ${n}`).join(', ')
  return `(function (exports, module, require) {\n${code}\n;return { ${locals} }\n})`
}

// Contexts created from here on get a \`gc\` global, which the sandbox runtime takes for itself and
// removes before any plugin code runs (sandbox/entry.ts); Node's own main context is unaffected.
v8.setFlagsFromString('--expose-gc')

let runtimeHash: string | undefined

export const DEFAULTS = {
  memoryLimitMb: 128,
  semiSpaceMb: 8,
  timeoutMs: 30_000,
  maxConcurrentCalls: 16,
  maxFetchBytes: 50 * 1024 * 1024,
  fetchAllowedHosts: [] as readonly string[],
  maxFetchRedirects: 10,
  hostWorkMaxBytes: 16 * 1024 * 1024,
  backgroundCpuMsPerMinute: 5000,
  capturesPerEvent: 10,
  capturesPerCall: 1000,
  captureMaxEventBytes: 1024 * 1024,
  cacheMaxKeyBytes: 1024,
  cacheMaxValueBytes: 1024 * 1024,
  storageMaxValueBytes: 1024 * 1024,
  jobMaxPayloadBytes: 1024 * 1024,
  runtimeSnapshot: true,
}

/** The isolated-vm implementation of PluginVm: one isolate per plugin config. */
export class IsolatedVmPluginVm implements PluginVm {
  async load(source: PluginSource, host: PluginHost, options: PluginInstanceOptions): Promise<PluginInstance> {
    const settings = { ...DEFAULTS, ...stripUndefined(options) }
    const label = `plugin ${source.name} (config ${options.configId})`
    // Before the isolate exists: a bad allowlist is the caller's error, not the plugin's.
    const guard = fetchGuard(settings.fetchAllowedHosts, settings.maxFetchRedirects, settings.closedServices)
    const snapshot = settings.runtimeSnapshot ? runtimeSnapshot() : null
    const limits = snapshot ? { memoryLimit: settings.memoryLimitMb, snapshot } : { memoryLimit: settings.memoryLimitMb }
    const isolate = withSemiSpace(settings.semiSpaceMb, () => new ivm.Isolate(limits))
    trackIsolate(isolate)
    let instance: IsolatePluginInstance | undefined
    let cpu: BackgroundCpuBudget | undefined
    /** Undoes what was made so far, as IsolatePluginInstance.dispose would: a failed load is retried, and what its top level opened must not outlive each try. */
    const made: (() => void)[] = []
    // Every dispose of this isolate goes through it (see sync-promise-gate.ts).
    const gate = new SyncPromiseGate(isolate)
    try {
      const context = await isolate.createContext()
      const abort = new AbortController()
      made.push(() => abort.abort())
      const report = (message: string) => reportLimit(host, source.name, options.configId, message)
      const captures = new CaptureBudget(
        { perEvent: settings.capturesPerEvent, perCall: settings.capturesPerCall, maxEventBytes: settings.captureMaxEventBytes },
        report,
      )
      // Each timer run is charged to the background CPU budget as soon as it ends.
      const fireTimer = (id: number) =>
        refs
          .loaded('fireTimer')
          .apply(undefined, [id], { timeout: settings.timeoutMs })
          .catch((e: unknown) => instance?.handleBackgroundError(e))
          .finally(() => cpu?.sample())
      const timers = new HostTimers((id) => void fireTimer(id))
      made.push(() => timers.clearAll())
      const sockets = new SocketCount(MAX_SOCKETS_PER_INSTANCE, options.shared?.sockets)
      // What the host holds for the instance counts against its team's and the process's too (`shared.held`).
      const shared = options.shared?.held
      // Response bodies being read, fetch's, posthog.api's and bridged SDKs' together.
      const responses: ByteBudget = { bytes: 0, limit: settings.maxFetchBytes, within: shared }
      const bridge = new HostModuleBridge({
        policy: guard.policy,
        sockets,
        responses,
        heldWithin: shared,
        loadModule: host.loadHostModule?.bind(host),
        invokeCallback: (id, args) =>
          void refs
            .loaded('runCallback')
            .apply(undefined, [id, args], { arguments: { copy: true }, timeout: settings.timeoutMs })
            .catch((e: unknown) => instance?.handleBackgroundError(e)),
        releaseCallback: (id) => {
          if (!isolate.isDisposed) refs.loaded('releaseCallback').applyIgnored(undefined, [id])
        },
        warn: (message) => host.log({ level: 'warn', message, pluginName: source.name, configId: options.configId, timestamp: new Date() }),
      })
      made.push(() => bridge.clear())
      const mapStack = (text: string): string => mapPluginStack(source, text)
      const storeFailures = new StoreFailures()
      const dispatcher = new HostDispatcher({
        host,
        pluginName: source.name,
        configId: options.configId,
        bridge,
        timers,
        signal: abort.signal,
        maxFetchBytes: settings.maxFetchBytes,
        fetchInFlight: responses,
        fetchTimeoutMs: settings.timeoutMs,
        sockets,
        fetchGuard: guard,
        work: new HostWork({
          owner: String(options.owner ?? `config ${options.configId}`),
          maxBytes: settings.hostWorkMaxBytes,
          timeoutMs: settings.timeoutMs,
          signal: abort.signal,
          onTimeout: () => instance?.breach('time', settings.timeoutMs),
          onInlineTime: (ms) => cpu?.chargeHost(ms),
          held: shared,
        }),
        captures,
        mapStack,
        store: new StoreBounds(settings, report),
        storeFailures,
        cacheReadBytes: { bytes: 0, limit: settings.hostWorkMaxBytes, within: shared },
        cacheReadShareBytes: Math.min(settings.hostWorkMaxBytes, Math.max(settings.cacheMaxValueBytes, Math.ceil(settings.hostWorkMaxBytes / 4))),
      })
      const fence = new FireFence()
      made.push(() => fence.release())
      // `fired`: a fire-and-forget call (sandbox/host-link.ts hostFire), counted once handled.
      const syncRef = new ivm.Reference((op: string, args: unknown[], fired?: boolean) => {
        const reply = dispatcher.sync(op, args)
        if (fired === true) fence.handledFire()
        return reply
      })
      const asyncRef = new ivm.Reference((op: string, args: unknown[]) => dispatcher.async(op, args))
      // applySyncPromise only takes transferable results: the reply is copied into the isolate.
      const workRef = new ivm.Reference((op: string, args: unknown[]) =>
        gate.hand(
          () => dispatcher.work(op, args),
          (reply) => new ivm.ExternalCopy(reply).copyInto({ release: true }),
        ),
      )
      if (!snapshot) {
        const runtime = runtimeSource()
        runtimeHash ??= createHash('sha256').update(runtime).digest('hex')
        const runtimeScript = await compileCached(isolate, runtimeHash, runtime, 'plugin-vm-runtime.js')
        await runtimeScript.run(context, { timeout: settings.timeoutMs })
      }
      const api = (await context.global.get('__ps_runtime', { reference: true })) as ivm.Reference<Record<string, unknown>>
      await context.global.delete('__ps_runtime')
      // Before any plugin code: the References go straight into the runtime's closure, never onto the global.
      await (
        await api.get('init', { reference: true })
      ).apply(undefined, [syncRef, asyncRef, workRef, INLINE_WORK_BYTES, settings.maxFetchBytes], { timeout: settings.timeoutMs })
      const [load, refs] = await Promise.all([api.get('load', { reference: true }) as Promise<ivm.Reference>, RuntimeRefs.fetch(api)])

      const pluginScript = await compileCached(isolate, source.codeHash, wrapPlugin(source.code), scriptName(source))
      const factory = (await pluginScript.run(context, { reference: true, timeout: settings.timeoutMs })) as ivm.Reference
      const info = { config: host.config, attachments: ownedAttachments(host.attachments) }
      const loaded = splitStamp(
        (await load.apply(undefined, [factory.derefInto(), info], {
          arguments: { copy: true },
          result: { copy: true },
          timeout: settings.timeoutMs,
        })) as string,
      )
      // What the plugin's top level logged is in its logs before anything else happens.
      await fence.until(loaded.fired, settings.timeoutMs)
      const description = JSON.parse(loaded.result) as { methods: PluginMethodName[]; jobNames: string[]; metrics: Record<string, MetricOperation> }
      checkDeclaredNames(description.jobNames, description.metrics)
      dispatcher.declare(description.jobNames, description.metrics)
      // Counted from here: loading is not background work.
      cpu = new BackgroundCpuBudget(
        () => (isolate.isDisposed ? undefined : isolate.cpuTime),
        settings.backgroundCpuMsPerMinute,
        () => instance?.breach('cpu'),
      )
      instance = new IsolatePluginInstance({
        isolate,
        gate,
        context,
        refs,
        host,
        bridge,
        timers,
        abort,
        fence,
        description,
        pluginName: source.name,
        mapStack,
        configId: options.configId,
        timeoutMs: settings.timeoutMs,
        memoryLimitMb: settings.memoryLimitMb,
        maxConcurrentCalls: settings.maxConcurrentCalls,
        cpu,
        captures,
        storeFailures,
        onBreach: settings.onBreach,
      })
      cpuSampler.watch(cpu)
      return instance
    } catch (error) {
      // Only the memory limit makes isolated-vm dispose an isolate by itself (see IsolatePluginInstance).
      const hitMemory = isolate.isDisposed
      for (const undo of made) undo()
      gate.close()
      const failure = loadError(label, error, settings, hitMemory)
      if (failure instanceof PluginLimitError) notifyBreach(settings.onBreach, failure)
      throw failure
    }
  }
}

function notifyBreach(onBreach: PluginInstanceOptions['onBreach'], error: PluginLimitError): void {
  try {
    onBreach?.(error)
  } catch {
    // The breach is contained whatever the listener does.
  }
}

/** A bound the host enforced (captures, cache/storage sizes), in the plugin's logs. */
function reportLimit(host: PluginHost, pluginName: string, configId: string | number, message: string): void {
  try {
    host.log({ level: 'error', message, pluginName, configId, timestamp: new Date() })
  } catch {
    // A failing log sink must not fail the plugin's call.
  }
}

function loadError(label: string, error: unknown, settings: typeof DEFAULTS, hitMemory: boolean): Error {
  const message = String((error as Error)?.message ?? error)
  if (hitMemory || /memory limit/i.test(message))
    return new PluginLimitError(`${label} exceeded its memory limit (${settings.memoryLimitMb} MB) while loading`, 'memory')
  if (/execution timed out/i.test(message)) return new PluginLimitError(`${label} exceeded its time limit (${settings.timeoutMs} ms) while loading`, 'time')
  return new PluginLoadError(`${label} failed to load: ${message}`)
}

/** Binary contents in buffers of their own (see bytes): pg hands small bytea values back as views into Node's Buffer pool. */
function ownedAttachments(attachments: PluginHost['attachments']): PluginHost['attachments'] {
  const owned = (a: PluginAttachment | null) => (a && a.contents instanceof Uint8Array ? { ...a, contents: bytes(a.contents) } : a)
  return Object.fromEntries(Object.entries(attachments).map(([key, attachment]) => [key, owned(attachment)]))
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}
