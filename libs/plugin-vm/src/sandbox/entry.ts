import { decodeResult, releaseCallback, runCallback } from './bridge'
import { createConsole } from './console'
import { RetryError } from './errors'
import { fetch, Headers, Response, toResponse } from './fetch'
import { defineProperty, descriptor, ownPromise, parse, stringify, toStringValue } from './intrinsics'
import { runtimeBuffer } from './lazy-modules'
import { connectHost, hostFire, hostRequest } from './host-link'
import { call, collect, forget, load, processBatch, runJob } from './runner'
import { atob, btoa, TextDecoder, TextEncoder } from './text'
import { fireTimer, timerGlobals } from './timers'
import { URL } from './url-class'
import { URLSearchParams } from './url-search-params'

/**
 * Installs the plugin-visible globals and exposes the runtime API the host calls. Everything at top
 * level here depends on nothing but this code: the process runs it once into a startup snapshot
 * that every isolate starts from (vm/runtime-snapshot.ts). What is per context (the host link, `gc`,
 * removing WebAssembly) happens in `init`, which the host calls in each new context before any
 * plugin code runs.
 */
const scope = globalThis as unknown as Record<string, unknown>

let gc: (() => void) | null = null
function collectGarbage(): void {
  gc?.()
}

function init(sync: unknown, async: unknown, work: unknown, inlineWorkBytes: number, maxRequestBytes: number): void {
  // WebAssembly memory lives outside the V8 heap, so isolated-vm's memory limit does not hold it back
  // (a plugin grew one to 2.5 GB under a 128 MB limit). The global is the only way to reach it; once
  // deleted, nothing in the isolate leads back to it. V8 installs it again in every context made from
  // a snapshot, so it is removed here, per context. Fail closed if it cannot be removed.
  delete scope.WebAssembly
  if ('WebAssembly' in scope) throw new Error('the sandbox could not remove WebAssembly')
  // The host runs V8 with --expose-gc so the runtime can free the external strings of past batches
  // (see GC_AFTER_BYTES_IN in isolate-plugin-instance.ts); plugins never reach it. V8 adds it to each
  // new context (never to the snapshot), so it is taken here.
  gc = typeof scope.gc === 'function' ? (scope.gc as () => void) : null
  // V8 makes the global writable but not configurable: overwritten, the function is unreachable.
  scope.gc = undefined
  connectHost({ sync, async, work, inlineWorkBytes, maxRequestBytes } as Parameters<typeof connectHost>[0])
}

function api(method: string) {
  return async (path: string, options: Record<string, unknown> = {}) => {
    // Crosses as parsed from this text: its size is the text's, whatever the options' toJSON did.
    const text = stringify(options) ?? '{}'
    const target = toStringValue(path)
    return toResponse(await hostRequest('api', [method, target, parse(text)], target.length + text.length, `posthog.api.${method.toLowerCase()}`))
  }
}

/**
 * The host call whose code is running synchronously right now, if any: captures made there are
 * charged to that call's allowance alone. After an await the call is no longer known (the host then
 * charges whichever call in flight has room).
 */
let runningCall: number | null = null

function asCall<A extends unknown[], R>(fn: (id: number, ...rest: A) => R): (id: number, ...rest: A) => R {
  return (id, ...rest) => {
    const outer = runningCall
    runningCall = id
    try {
      return fn(id, ...rest)
    } finally {
      runningCall = outer
    }
  }
}

/** Every call first lets go of the results of calls the host has received since its last one. */
function acking<A extends unknown[], R>(fn: (id: number, ...rest: A) => R): (id: number, received: number[], ...rest: A) => R {
  return (id, received, ...rest) => {
    forget(received)
    return fn(id, ...rest)
  }
}

const posthog = {
  /** Fire and forget, but a promise as PostHog's was: plugins write `posthog.capture(…).catch(…)`. */
  capture(event: string, properties: Record<string, unknown> = {}): Promise<void> {
    // As JSON text: a flat string crosses at any depth, where a structured copy of an object some
    // 2 000 levels deep never reached the host, and the call then waited for it until its deadline.
    // The captured stringify: a plugin's replacement of JSON.stringify sent text the host could not
    // parse, and the capture was lost without a word.
    hostFire('capture', [String(event), stringify(properties ?? {}), runningCall])
    return ownPromise((resolve) => resolve(undefined))
  },
  api: { get: api('GET'), post: api('POST'), put: api('PUT'), delete: api('DELETE') },
}

const globals: Record<string, unknown> = {
  console: createConsole(),
  fetch,
  Headers,
  Response,
  posthog,
  RetryError,
  URL,
  URLSearchParams,
  TextEncoder,
  TextDecoder,
  atob,
  btoa,
  ...timerGlobals,
}
for (const [name, value] of Object.entries(globals)) {
  Object.defineProperty(scope, name, { value, writable: true, configurable: true, enumerable: false })
}

/**
 * `Buffer` is evaluated on first use, not in the snapshot (112 KB of every isolate's heap): the
 * first read loads it (sandbox/lazy-modules.ts) and leaves a plain global in its place, as does an
 * assignment. Once either happened, the global is what Node's is: writable, configurable, not enumerable.
 */
const settleBuffer = (value: unknown): void =>
  void defineProperty(scope, 'Buffer', descriptor({ value, writable: true, configurable: true, enumerable: false }))
Object.defineProperty(scope, 'Buffer', {
  get() {
    const value = runtimeBuffer()
    settleBuffer(value)
    return value
  },
  set: settleBuffer,
  configurable: true,
  enumerable: false,
})

function safeFireTimer(id: number): void {
  try {
    fireTimer(id)
  } catch (error) {
    hostFire('log', ['error', `uncaught error in timer callback: ${String((error as Error)?.stack ?? error)}`])
  }
}

function safeCallback(id: number, args: unknown[]): void {
  try {
    runCallback(id, args)
  } catch (error) {
    hostFire('log', ['error', `uncaught error in callback: ${String((error as Error)?.stack ?? error)}`])
  }
}

scope.__ps_runtime = {
  init,
  load,
  call: acking(asCall(call)),
  runJob: acking(asCall(runJob)),
  processBatch: acking(asCall(processBatch)),
  collect,
  fireTimer: safeFireTimer,
  runCallback: safeCallback,
  releaseCallback,
  decodeResult,
  collectGarbage,
}
