import { errorRecord, toErrorRecord } from './errors'
import { bare, detached, isArray, objectKeys, ownPromise, parse, reflectApply, setPrototypeOf, stringify } from './intrinsics'
import { createMeta, LoadInfo } from './meta'
import { sandboxRequire } from './modules'
import { PLUGIN_METHOD_NAMES } from '../interfaces'

/*
 * Runs inside the isolate: evaluates the plugin, finds its methods, and executes calls and
 * batches. Results go back as JSON strings: one copy, and the same shape events take downstream.
 *
 * The plugin shares this realm and may have replaced any global or prototype method by the time a
 * call runs. Everything used here at call time is therefore captured beforehand (./intrinsics) or
 * is plain syntax: index loops, `+` concatenation, objects without prototypes.
 */
type Fn = (...args: unknown[]) => unknown
type Lines = Record<number, string>

const methods = bare<Record<string, Fn>>()
const jobs = bare<Record<string, Fn>>()
let meta: Record<string, unknown> = {}

/** Reading `then` runs plugin code (a getter), so callers catch. */
function isThenable(value: unknown): boolean {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function'
}

function pick(candidates: unknown[], name: string, kind: 'function' | 'object'): unknown {
  for (let i = 0; i < candidates.length; i++) {
    const candidate = candidates[i]
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
  for (let i = 0; i < PLUGIN_METHOD_NAMES.length; i++) {
    const fn = pick(candidates, PLUGIN_METHOD_NAMES[i], 'function')
    if (fn) methods[PLUGIN_METHOD_NAMES[i]] = fn as Fn
  }
  const declaredJobs = (pick(candidates, 'jobs', 'object') ?? {}) as Record<string, unknown>
  const jobNames = objectKeys(declaredJobs)
  for (let i = 0; i < jobNames.length; i++) {
    const fn = declaredJobs[jobNames[i]]
    if (typeof fn === 'function') jobs[jobNames[i]] = fn as Fn
  }
  const declaredMetrics = (pick(candidates, 'metrics', 'object') ?? {}) as Record<string, unknown>
  const metricNames = objectKeys(declaredMetrics)
  const metrics = bare<Record<string, string>>()
  for (let i = 0; i < metricNames.length; i++) {
    const name = metricNames[i]
    const op = declaredMetrics[name]
    if (op !== 'sum' && op !== 'max' && op !== 'min') throw new Error(`metric "${name}" has the unknown operation ${stringify(op)}: expected sum, max or min`)
    metrics[name] = op
  }
  meta = createMeta(info, objectKeys(jobs), metrics)
  const description = bare<Record<string, unknown>>()
  description.methods = detached(objectKeys(methods))
  description.jobNames = detached(objectKeys(jobs))
  description.metrics = metrics
  return stringify(description)
}

function envelope(ok: boolean, field: 'value' | 'error', value: unknown): string {
  const out = bare<Record<string, unknown>>()
  out.ok = ok
  out[field] = value
  return stringify(out)
}

function ok(value: unknown): string {
  try {
    return envelope(true, 'value', value === undefined ? null : value)
  } catch (error) {
    return fail(errorRecord('Error', 'result is not JSON-serializable: ' + toErrorRecord(error).message))
  }
}

function fail(error: unknown): string {
  return envelope(false, 'error', toErrorRecord(error))
}

/**
 * Calls `onValue` or `onError` once. `await` follows a native promise without looking up `then` or
 * Promise[Symbol.species], which the plugin may have replaced; any other thenable is followed with
 * its own `then`, as PostHog's `await` did. Never rejects: nobody waits on it.
 */
async function whenSettled(value: unknown, onValue: (v: unknown) => void, onError: (e: unknown) => void): Promise<void> {
  let result: unknown
  try {
    result = await value
  } catch (error) {
    onError(error)
    return
  }
  onValue(result)
}

/** The call's arguments plus `meta`, as an array-like without a prototype (no iterator, no setters). */
function withMeta(args: unknown[]): ArrayLike<unknown> {
  const list = bare<Record<number, unknown> & { length: number }>()
  for (let i = 0; i < args.length; i++) list[i] = args[i]
  list[args.length] = meta
  list.length = args.length + 1
  return list
}

function invoke(fn: Fn | undefined, label: string, args: unknown[]): string | Promise<string> {
  if (!fn) return fail(errorRecord('Error', 'plugin does not export ' + label))
  let result: unknown
  try {
    result = reflectApply(fn, undefined, withMeta(args))
    if (!isThenable(result)) return ok(result)
  } catch (error) {
    return fail(error)
  }
  return ownPromise(
    (resolve) =>
      void whenSettled(
        result,
        (v) => resolve(ok(v)),
        (e) => resolve(fail(e)),
      ),
  )
}

/**
 * isolated-vm fails a task when a promise was rejected without a handler (e.g. a plugin's floating
 * promise), discarding the call's real result. Recent results are kept so the host can collect
 * them in a second task. Bounded: the host never has more calls in flight than this; its call ids
 * are sequential, so a ring indexed by id keeps the most recent ones.
 */
const RECENT_LIMIT = 1024
const recentIds = bare<Record<number, number>>()
const recentResults = bare<Record<number, string | Promise<string> | undefined>>()

function remember(id: number, result: string | Promise<string>): string | Promise<string> {
  const slot = id % RECENT_LIMIT
  recentIds[slot] = id
  recentResults[slot] = result
  return result
}

export function collect(id: number): string | Promise<string> {
  const slot = id % RECENT_LIMIT
  const result = recentIds[slot] === id ? recentResults[slot] : undefined
  recentIds[slot] = -1
  recentResults[slot] = undefined
  return result ?? fail(errorRecord('Error', 'call result was lost'))
}

function parseError(what: string, error: unknown): string {
  return fail(errorRecord('Error', what + ' is not valid JSON: ' + toErrorRecord(error).message))
}

export function call(id: number, method: string, argsJson: string): string | Promise<string> {
  let args: unknown[]
  try {
    args = parse(argsJson) as unknown[]
  } catch (error) {
    return remember(id, parseError('the arguments of ' + method, error))
  }
  return remember(id, invoke(methods[method], method, args))
}

export function runJob(id: number, name: string, payloadJson: string): string | Promise<string> {
  let payload: unknown
  try {
    payload = parse(payloadJson)
  } catch (error) {
    return remember(id, parseError('the payload of job ' + name, error))
  }
  return remember(id, invoke(jobs[name], 'job ' + name, [payload]))
}

/*
 * One line per event, so the host can split the batch without parsing it and hand each event's
 * JSON straight to the next plugin: `E<event json>`, `N` (dropped) or `X<error json>`. JSON text
 * never holds a raw newline, so "\n" separates lines safely.
 */

function failLine(error: unknown): string {
  return 'X' + stringify(toErrorRecord(error))
}

function faultLine(message: string): string {
  return 'X' + stringify(errorRecord('Error', message))
}

function describeName(value: unknown): string {
  if (value === null) return 'null'
  if (value === '') return 'an empty string'
  if (isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : 'a ' + typeof value
}

/**
 * The copy of a returned event. Its prototype (with nothing but `constructor` on it) has no
 * prototype: nothing the plugin puts on Object.prototype reaches it, and unlike Object.create(null)
 * its instances stay fast objects, which JSON.stringify serialises much faster.
 */
class EventFields {}
setPrototypeOf(EventFields.prototype, null)

/**
 * The returned event as the rest of the chain will see it: its own enumerable top-level fields,
 * each read once (getters and Proxy traps run here, under the isolate's limits), copied onto an
 * object without a prototype. Validated and serialised from that copy, so a getter answering
 * differently the second time or a toJSON on Object.prototype cannot change the shape; a toJSON of
 * the event's own is refused.
 */
function eventLine(value: unknown): string {
  try {
    if (value === undefined || value === null || value === false) return 'N'
    if (typeof value !== 'object' || isArray(value)) {
      return faultLine('processEvent returned ' + (isArray(value) ? 'an array' : 'a ' + typeof value) + ', expected an event or null')
    }
    const keys = objectKeys(value)
    const copy = new EventFields() as Record<string, unknown>
    for (let i = 0; i < keys.length; i++) copy[keys[i]] = (value as Record<string, unknown>)[keys[i]]
    // JSON.stringify would let it replace the whole event; a plugin returns the event's data itself.
    if (typeof copy.toJSON === 'function') return faultLine('processEvent returned an event with a toJSON method, expected the event itself')
    const name = copy.event
    if (name === undefined) return faultLine('processEvent returned an object without an "event" name, expected an event or null')
    if (typeof name !== 'string' || name === '') {
      return faultLine('processEvent returned an event whose "event" is ' + describeName(name) + ', expected a non-empty string')
    }
    try {
      return 'E' + stringify(copy)
    } catch (error) {
      return faultLine('processEvent returned an event that is not JSON-serializable: ' + toErrorRecord(error).message)
    }
  } catch (error) {
    return faultLine('processEvent returned an event that could not be read: ' + toErrorRecord(error).message)
  }
}

function joinLines(lines: Lines, count: number): string {
  let text = ''
  for (let i = 0; i < count; i++) text += i === 0 ? lines[i] : '\n' + lines[i]
  return text
}

/**
 * Once processEvent turns out to be async, the rest of the batch runs with up to EVENT_CONCURRENCY
 * events in flight, as PostHog ran events concurrently: a plugin that awaits a host call per event
 * (cache, geoip, fetch) would otherwise wait for every round trip in turn.
 */
const EVENT_CONCURRENCY = 50

function finishAsync(fn: Fn, events: unknown[], lines: Lines, first: number, firstResult: unknown): Promise<string> {
  return ownPromise((resolve) => {
    const count = events.length
    let next = first + 1
    let inFlight = 1
    let left = count - first
    let pumping = false
    const settle = (i: number, line: string) => {
      lines[i] = line
      inFlight--
      left--
      if (left === 0) resolve(joinLines(lines, count))
      else if (!pumping) pump()
    }
    const start = (i: number) => {
      let result: unknown
      try {
        result = fn(events[i], meta)
        if (!isThenable(result)) return settle(i, eventLine(result))
      } catch (error) {
        return settle(i, failLine(error))
      }
      void whenSettled(
        result,
        (v) => settle(i, eventLine(v)),
        (e) => settle(i, failLine(e)),
      )
    }
    // A loop, not recursion: a long run of synchronous results must not grow the stack.
    const pump = () => {
      pumping = true
      while (inFlight < EVENT_CONCURRENCY && next < count) {
        inFlight++
        start(next++)
      }
      pumping = false
    }
    void whenSettled(
      firstResult,
      (v) => settle(first, eventLine(v)),
      (e) => settle(first, failLine(e)),
    )
    pump()
  })
}

/** processEvent over a batch; a sync plugin runs the events in order and never touches the microtask queue. */
export function processBatch(id: number, eventsJson: string): string | Promise<string> {
  return remember(id, runBatch(eventsJson))
}

function runBatch(eventsJson: string): string | Promise<string> {
  const fn = methods.processEvent
  if (!fn) return fail(errorRecord('Error', 'plugin does not export processEvent'))
  let events: unknown[]
  try {
    events = parse(eventsJson) as unknown[]
  } catch (error) {
    return parseError('the batch', error)
  }
  const lines = bare<Lines>()
  for (let i = 0; i < events.length; i++) {
    let result: unknown
    try {
      result = fn(events[i], meta)
      if (isThenable(result)) return finishAsync(fn, events, lines, i, result)
    } catch (error) {
      lines[i] = failLine(error)
      continue
    }
    lines[i] = eventLine(result)
  }
  return joinLines(lines, events.length)
}
