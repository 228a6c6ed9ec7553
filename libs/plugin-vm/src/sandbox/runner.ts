import { lineEnvelope, runBatchExport } from './batch-export'
import { errorRecord, toErrorRecord } from './errors'
import { batchText, eventLine, failLine, Lines } from './event-lines'
import { bare, detached, objectKeys, ownPromise, parse, promiseThen, reflectApply, stringify, stringToLowerCase } from './intrinsics'
import { createMeta, LoadInfo } from './meta'
import { sandboxRequire } from './modules'
import { stamped } from './host-link'
import { isThenable, whenSettled } from './settle'
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

const methods = bare<Record<string, Fn>>()
const jobs = bare<Record<string, Fn>>()
/**
 * processEventBatch, when the plugin exports it without processEvent (PostHog 1.x derived either
 * from the other; with both, processEvent served ingestion and so it does here). The plugin is then
 * listed as having processEvent, and batches and processEvent calls go through it.
 */
let batchExport: Fn | undefined
let meta: Record<string, unknown> = {}

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
    const name = PLUGIN_METHOD_NAMES[i]
    let fn = pick(candidates, name, 'function')
    if (!fn && name === 'processEvent') {
      fn = pick(candidates, 'processEventBatch', 'function')
      if (fn) batchExport = fn as Fn
    }
    if (fn) methods[name] = fn as Fn
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
    const declared = declaredMetrics[name]
    // Any case, as PostHog lowercased them ('SUM', 'Max').
    const op = typeof declared === 'string' ? stringToLowerCase(declared) : declared
    if (op !== 'sum' && op !== 'max' && op !== 'min')
      throw new Error(`metric "${name}" has the unknown operation ${stringify(declared)}: expected sum, max or min`)
    metrics[name] = op
  }
  meta = createMeta(info, objectKeys(jobs), metrics)
  const description = bare<Record<string, unknown>>()
  description.methods = detached(objectKeys(methods))
  description.jobNames = detached(objectKeys(jobs))
  description.metrics = metrics
  return stamped(stringify(description))
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
 * What the host receives: the result stamped with the fires sent until it was ready (see
 * host-link.ts). A pending result is always the runtime's own promise, followed with the built-in
 * `then` (`await` would look `then` up, and the plugin may have replaced it).
 */
function withStamp(result: string | Promise<string>): string | Promise<string> {
  if (typeof result === 'string') return stamped(result)
  return ownPromise((resolve) => {
    promiseThen(
      result,
      (v) => resolve(stamped(v as string)),
      (e) => resolve(stamped(fail(e))),
    )
  })
}

/**
 * isolated-vm fails a task when a promise was rejected without a handler (e.g. a plugin's floating
 * promise), discarding the call's real result. Results are kept so the host can collect them in a
 * second task, until the host says it received them (`forget`, with its next call): a whole batch's
 * events each, so keeping them longer fills the heap of a plugin that does nothing wrong. Bounded
 * besides: call ids are sequential, so a ring indexed by id keeps at most the most recent ones.
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

/** Drops the results of calls whose outcome the host has received. */
export function forget(ids: readonly number[]): void {
  for (let i = 0; i < ids.length; i++) {
    const slot = ids[i] % RECENT_LIMIT
    if (recentIds[slot] !== ids[i]) continue
    recentIds[slot] = -1
    recentResults[slot] = undefined
  }
}

export function collect(id: number): string | Promise<string> {
  const slot = id % RECENT_LIMIT
  const result = recentIds[slot] === id ? recentResults[slot] : undefined
  recentIds[slot] = -1
  recentResults[slot] = undefined
  return withStamp(result ?? fail(errorRecord('Error', 'call result was lost')))
}

function parseError(what: string, error: unknown): string {
  return fail(errorRecord('Error', what + ' is not valid JSON: ' + toErrorRecord(error).message))
}

export function call(id: number, method: string, argsJson: string): string | Promise<string> {
  let args: unknown[]
  try {
    args = parse(argsJson) as unknown[]
  } catch (error) {
    return withStamp(remember(id, parseError('the arguments of ' + method, error)))
  }
  if (method === 'processEvent' && batchExport !== undefined) return withStamp(remember(id, oneEventBatch(batchExport, args[0])))
  return withStamp(remember(id, invoke(methods[method], method, args)))
}

/** processEvent(event) of a processEventBatch plugin: a batch of one, as PostHog derived it. */
function oneEventBatch(fn: Fn, event: unknown): string | Promise<string> {
  // An array literal defines its element: no setter the plugin put on Array.prototype runs.
  return runBatchExport(fn, [event], meta, (lines) => lineEnvelope(lines[0]))
}

export function runJob(id: number, name: string, payloadJson: string): string | Promise<string> {
  let payload: unknown
  try {
    payload = parse(payloadJson)
  } catch (error) {
    return withStamp(remember(id, parseError('the payload of job ' + name, error)))
  }
  // PostHog ran `payload ? job(payload, meta) : job(meta)`: a job enqueued without a payload (or a
  // falsy one) gets meta as its first argument, and plugins declare such jobs as `(meta) => …`.
  return withStamp(remember(id, invoke(jobs[name], 'job ' + name, payload ? [payload] : [])))
}

/**
 * Once processEvent turns out to be async, the rest of the batch runs with up to EVENT_CONCURRENCY
 * events in flight: a plugin that awaits a host call per event (cache, geoip, fetch) would otherwise
 * wait for every round trip in turn. PostHog's plugin server called processEvent on every event of
 * a batch at once; 100 does the same for most capture batches (a posthog-js or posthog-node flush),
 * whose cheap host calls then cross to the host together in one turn, and still bounds a larger
 * batch (CAPTURE_BATCH_MAX_EVENTS allows 200).
 */
const EVENT_CONCURRENCY = 100

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
      if (left === 0) resolve(batchText(lines, count))
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

/**
 * processEvent over a batch, answered as one text (see ./event-lines); a sync plugin runs the
 * events in order and never touches the microtask queue. A processEventBatch plugin gets the whole batch.
 */
export function processBatch(id: number, eventsJson: string): string | Promise<string> {
  return withStamp(remember(id, runBatch(eventsJson)))
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
  if (batchExport !== undefined) {
    // Read now: the plugin gets this array and may change its length.
    const count = events.length
    return runBatchExport(batchExport, events, meta, (lines) => batchText(lines, count))
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
  return batchText(lines, events.length)
}
