import { toErrorRecord } from './errors'
import { createMeta, LoadInfo } from './meta'
import { sandboxRequire } from './modules'
import { PLUGIN_METHOD_NAMES } from '../interfaces'

/*
 * Runs inside the isolate: evaluates the plugin, finds its methods, and executes calls and
 * batches. Results go back as JSON strings: one copy, and the same shape events take downstream.
 */
// Captured before plugin code runs, so a plugin replacing JSON cannot break the protocol.
const { stringify, parse } = JSON
type Fn = (...args: unknown[]) => unknown

const methods: Record<string, Fn> = {}
const jobs: Record<string, Fn> = {}
let meta: Record<string, unknown> = {}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as PromiseLike<unknown>).then === 'function'
}

function pick(candidates: unknown[], name: string, kind: 'function' | 'object'): unknown {
  for (const candidate of candidates) {
    if (candidate === null || (typeof candidate !== 'object' && typeof candidate !== 'function')) continue
    const value = (candidate as Record<string, unknown>)[name]
    if (kind === 'function' ? typeof value === 'function' : typeof value === 'object' && value !== null) return value
  }
  return undefined
}

/** `factory` is the compiled plugin wrapped as (exports, module, require) => locals. */
export function load(factory: Fn, info: LoadInfo): string {
  const module = { exports: {} as Record<string, unknown> }
  const locals = factory(module.exports, module, sandboxRequire)
  const exported = module.exports
  const candidates = [exported, exported?.default, locals]
  for (const name of PLUGIN_METHOD_NAMES) {
    const fn = pick(candidates, name, 'function')
    if (fn) methods[name] = fn as Fn
  }
  for (const [name, fn] of Object.entries((pick(candidates, 'jobs', 'object') ?? {}) as Record<string, unknown>)) {
    if (typeof fn === 'function') jobs[name] = fn as Fn
  }
  const metrics: Record<string, string> = {}
  for (const [name, op] of Object.entries((pick(candidates, 'metrics', 'object') ?? {}) as Record<string, unknown>)) {
    if (op !== 'sum' && op !== 'max' && op !== 'min')
      throw new Error(`metric "${name}" has the unknown operation ${JSON.stringify(op)}: expected sum, max or min`)
    metrics[name] = op
  }
  meta = createMeta(info, Object.keys(jobs), metrics)
  return stringify({ methods: Object.keys(methods), jobNames: Object.keys(jobs), metrics })
}

function ok(value: unknown): string {
  try {
    return stringify({ ok: true, value: value === undefined ? null : value })
  } catch (error) {
    return fail(new Error(`result is not JSON-serializable: ${(error as Error).message}`))
  }
}

function fail(error: unknown): string {
  return stringify({ ok: false, error: toErrorRecord(error) })
}

function invoke(fn: Fn | undefined, label: string, args: unknown[]): string | Promise<string> {
  try {
    if (!fn) throw new Error(`plugin does not export ${label}`)
    const result = fn(...args, meta)
    return isThenable(result) ? Promise.resolve(result).then(ok, fail) : ok(result)
  } catch (error) {
    return fail(error)
  }
}

/**
 * isolated-vm fails a task when a promise was rejected without a handler (e.g. a plugin's floating
 * promise), discarding the call's real result. Recent results are kept so the host can collect
 * them in a second task. Bounded: the host never has more calls in flight than this.
 */
const recent = new Map<number, string | Promise<string>>()
const RECENT_LIMIT = 1024

function remember(id: number, result: string | Promise<string>): string | Promise<string> {
  recent.set(id, result)
  if (recent.size > RECENT_LIMIT) recent.delete(recent.keys().next().value as number)
  return result
}

export function collect(id: number): string | Promise<string> {
  const result = recent.get(id)
  recent.delete(id)
  return result ?? fail(new Error('call result was lost'))
}

export function call(id: number, method: string, argsJson: string): string | Promise<string> {
  return remember(id, invoke(methods[method], method, parse(argsJson) as unknown[]))
}

export function runJob(id: number, name: string, payloadJson: string): string | Promise<string> {
  return remember(id, invoke(jobs[name], `job ${name}`, [parse(payloadJson)]))
}

/**
 * One line per event, so the host can split the batch without parsing it and hand each event's
 * JSON straight to the next plugin: `E<event json>`, `N` (dropped) or `X<error json>`. JSON text
 * never holds a raw newline, so "\n" separates lines safely.
 */
function eventResult(value: unknown): string {
  if (value === undefined || value === null || value === false) return 'N'
  if (typeof value !== 'object' || Array.isArray(value)) {
    return failLine(new Error(`processEvent returned ${Array.isArray(value) ? 'an array' : `a ${typeof value}`}, expected an event or null`))
  }
  const name = (value as { event?: unknown }).event
  if (typeof name !== 'string' || name === '') return failLine(new Error('processEvent returned an object without an "event" name, expected an event or null'))
  try {
    return 'E' + stringify(value)
  } catch (error) {
    return failLine(new Error(`processEvent returned an event that is not JSON-serializable: ${(error as Error).message}`))
  }
}

function failLine(error: unknown): string {
  return 'X' + stringify(toErrorRecord(error))
}

/**
 * Once processEvent turns out to be async, the rest of the batch runs with up to EVENT_CONCURRENCY
 * events in flight, as PostHog ran events concurrently: a plugin that awaits a host call per event
 * (cache, geoip, fetch) would otherwise wait for every round trip in turn.
 */
const EVENT_CONCURRENCY = 50

async function finishAsync(events: unknown[], out: string[], index: number, pending: PromiseLike<unknown>): Promise<string> {
  const fn = methods.processEvent
  const settle = async (i: number, started?: unknown): Promise<void> => {
    try {
      const result = started ?? fn(events[i], meta)
      out[i] = eventResult(isThenable(result) ? await result : result)
    } catch (error) {
      out[i] = failLine(error)
    }
  }
  let next = index + 1
  const lane = async (first?: number, firstPending?: unknown): Promise<void> => {
    if (first !== undefined) await settle(first, firstPending)
    while (next < events.length) await settle(next++)
  }
  const extra = Math.min(EVENT_CONCURRENCY - 1, events.length - index - 1)
  await Promise.all([lane(index, pending), ...Array.from({ length: extra }, () => lane())])
  return out.join('\n')
}

/** processEvent over a batch; a sync plugin runs the events in order and never touches the microtask queue. */
export function processBatch(id: number, eventsJson: string): string | Promise<string> {
  return remember(id, runBatch(eventsJson))
}

function runBatch(eventsJson: string): string | Promise<string> {
  const events = parse(eventsJson) as unknown[]
  const out: string[] = new Array(events.length)
  const fn = methods.processEvent
  if (!fn) return fail(new Error('plugin does not export processEvent'))
  for (let i = 0; i < events.length; i++) {
    try {
      const result = fn(events[i], meta)
      if (isThenable(result)) return finishAsync(events, out, i, result)
      out[i] = eventResult(result)
    } catch (error) {
      out[i] = failLine(error)
    }
  }
  return out.join('\n')
}
