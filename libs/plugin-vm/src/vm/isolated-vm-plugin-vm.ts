import ivm from 'isolated-vm'
import { PluginLimitError, PluginLoadError } from '../errors'
import {
  MetricOperation,
  PLUGIN_METHOD_NAMES,
  PluginHost,
  PluginInstance,
  PluginInstanceOptions,
  PluginMethodName,
  PluginSource,
  PluginVm,
} from '../interfaces'
import { HostDispatcher } from './host-dispatcher'
import { HostModuleBridge } from './host-bridge'
import { HostTimers } from './host-timers'
import { IsolatePluginInstance } from './isolate-plugin-instance'
import { runtimeSource } from './runtime-bundle'
import { compileCached } from './script-cache'
import { createHash } from 'crypto'
import { fetchGuard } from '../net/fetch-guard'

/** What a plugin may declare at top level without exporting it: its methods, jobs and metrics. */
const LOCAL_NAMES = [...PLUGIN_METHOD_NAMES, 'jobs', 'metrics']

/** Legacy plugins declare top-level functions without exporting them; the wrapper hands them back. */
function wrapPlugin(code: string): string {
  const locals = LOCAL_NAMES.map((n) => `${n}: typeof ${n} === 'undefined' ? undefined : ${n}`).join(', ')
  return `(function (exports, module, require) {\n${code}\n;return { ${locals} }\n})`
}

let runtimeHash: string | undefined

export const DEFAULTS = {
  memoryLimitMb: 128,
  timeoutMs: 30_000,
  maxConcurrentCalls: 16,
  maxFetchBytes: 50 * 1024 * 1024,
  fetchAllowedHosts: [] as readonly string[],
  maxFetchRedirects: 10,
}

/** The isolated-vm implementation of PluginVm: one isolate per plugin config. */
export class IsolatedVmPluginVm implements PluginVm {
  async load(source: PluginSource, host: PluginHost, options: PluginInstanceOptions): Promise<PluginInstance> {
    const settings = { ...DEFAULTS, ...stripUndefined(options) }
    const label = `plugin ${source.name} (config ${options.configId})`
    // Before the isolate exists: a bad allowlist is the caller's error, not the plugin's.
    const guard = fetchGuard(settings.fetchAllowedHosts, settings.maxFetchRedirects)
    const isolate = new ivm.Isolate({ memoryLimit: settings.memoryLimitMb })
    let instance: IsolatePluginInstance | undefined
    try {
      const context = await isolate.createContext()
      const abort = new AbortController()
      const fireTimer = (id: number) =>
        refs.fireTimer.apply(undefined, [id], { timeout: settings.timeoutMs }).catch((e: unknown) => instance?.handleBackgroundError(e))
      const timers = new HostTimers((id) => void fireTimer(id))
      const bridge = new HostModuleBridge({
        policy: guard.policy,
        loadModule: host.loadHostModule?.bind(host),
        invokeCallback: (id, args) =>
          void refs.runCallback
            .apply(undefined, [id, args], { arguments: { copy: true }, timeout: settings.timeoutMs })
            .catch((e: unknown) => instance?.handleBackgroundError(e)),
        releaseCallback: (id) => {
          if (!isolate.isDisposed) refs.releaseCallback.applyIgnored(undefined, [id])
        },
        warn: (message) => host.log({ level: 'warn', message, pluginName: source.name, configId: options.configId, timestamp: new Date() }),
      })
      const dispatcher = new HostDispatcher({
        host,
        pluginName: source.name,
        configId: options.configId,
        bridge,
        timers,
        signal: abort.signal,
        maxFetchBytes: settings.maxFetchBytes,
        fetchGuard: guard,
      })
      const syncRef = new ivm.Reference((op: string, args: unknown[]) => dispatcher.sync(op, args))
      const asyncRef = new ivm.Reference((op: string, args: unknown[]) => dispatcher.async(op, args))
      await context.evalClosure('globalThis.__ps_link = { sync: $0, async: $1 }', [syncRef, asyncRef])

      const runtime = runtimeSource()
      runtimeHash ??= createHash('sha256').update(runtime).digest('hex')
      const runtimeScript = await compileCached(isolate, runtimeHash, runtime, 'plugin-vm-runtime.js')
      await runtimeScript.run(context, { timeout: settings.timeoutMs })
      const api = (await context.global.get('__ps_runtime', { reference: true })) as ivm.Reference<Record<string, unknown>>
      await context.global.delete('__ps_runtime')
      const get = (name: string) => api.get(name, { reference: true }) as Promise<ivm.Reference>
      const refs = {
        load: await get('load'),
        call: await get('call'),
        runJob: await get('runJob'),
        processBatch: await get('processBatch'),
        collect: await get('collect'),
        fireTimer: await get('fireTimer'),
        runCallback: await get('runCallback'),
        releaseCallback: await get('releaseCallback'),
      }

      const pluginScript = await compileCached(isolate, source.codeHash, wrapPlugin(source.code), `plugin/${source.name}/${source.entry}`)
      const factory = (await pluginScript.run(context, { reference: true, timeout: settings.timeoutMs })) as ivm.Reference
      const info = { config: host.config, attachments: host.attachments }
      const describeJson = (await refs.load.apply(undefined, [factory.derefInto(), info], {
        arguments: { copy: true },
        result: { copy: true },
        timeout: settings.timeoutMs,
      })) as string
      const description = JSON.parse(describeJson) as { methods: PluginMethodName[]; jobNames: string[]; metrics: Record<string, MetricOperation> }
      instance = new IsolatePluginInstance({
        isolate,
        context,
        refs,
        host,
        bridge,
        timers,
        abort,
        description,
        pluginName: source.name,
        configId: options.configId,
        timeoutMs: settings.timeoutMs,
        memoryLimitMb: settings.memoryLimitMb,
        maxConcurrentCalls: settings.maxConcurrentCalls,
      })
      return instance
    } catch (error) {
      if (!isolate.isDisposed) isolate.dispose()
      throw loadError(label, error, settings)
    }
  }
}

function loadError(label: string, error: unknown, settings: typeof DEFAULTS): Error {
  const message = String((error as Error)?.message ?? error)
  if (/memory limit/i.test(message)) return new PluginLimitError(`${label} exceeded its memory limit (${settings.memoryLimitMb} MB) while loading`, 'memory')
  if (/execution timed out/i.test(message)) return new PluginLimitError(`${label} exceeded its time limit (${settings.timeoutMs} ms) while loading`, 'time')
  return new PluginLoadError(`${label} failed to load: ${message}`)
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}
