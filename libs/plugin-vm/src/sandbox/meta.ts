import { runtimeBuffer } from './lazy-modules'
import { locate } from './geoip-answers'
import { hostAsync, hostFire } from './host-link'
import { parse, stringify } from './intrinsics'

export interface LoadInfo {
  config: Record<string, unknown>
  attachments: Record<string, { content_type: string; file_name: string; contents: string | Uint8Array } | null>
}

const METRIC_METHODS: Record<string, string> = { sum: 'increment', max: 'max', min: 'min' }

function cacheMethod(name: string) {
  return (...args: unknown[]) => hostAsync(`cache.${name}`, args)
}

/**
 * A value the host will store as JSON, made here as JSON makes it. Arguments cross by structured
 * clone, which ignores `toJSON` (a moment, luxon or dayjs object arrived as its private fields) and
 * refuses functions (a whole write failed on an object with a method); PostHog ran `JSON.stringify`
 * in the plugin's own realm. Primitives need nothing: the host's encoding is the same.
 */
function asJson(value: unknown): unknown {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return value
  const text = stringify(value)
  return text === undefined ? undefined : parse(text)
}

/**
 * A host call whose arguments are made first: a value JSON cannot make (a cycle, a BigInt, a
 * throwing `toJSON`) rejects the call's promise, as PostHog's async `set` did, instead of throwing
 * at the caller.
 */
function hostAsyncOf(op: string, args: () => unknown[]): Promise<unknown> {
  let made: unknown[]
  try {
    made = args()
  } catch (err) {
    return Promise.reject(err)
  }
  return hostAsync(op, made)
}

/** `cache.set`: a JSON value as JSON would store it; raw text (`jsonSerialize: false`) as it is. */
function cacheSet(key: unknown, value: unknown, ttlSeconds?: unknown, options?: { jsonSerialize?: unknown } | null): Promise<unknown> {
  return hostAsyncOf('cache.set', () => [key, options?.jsonSerialize === false ? value : asJson(value), ttlSeconds, options])
}

/**
 * `cache.get`: the host answers the stored text, reading a key once however many callers ask for it
 * in a turn (vm/cache-reads.ts), and it is decoded here for this caller as PostHog's cache decoded
 * it: the default (null without one) for no key; the text as it is with `jsonSerialize: false` or
 * when it is not JSON. The host's twin is plugin-runtime's decodeCacheValue; this one uses the
 * runtime's captured JSON.parse, which plugin code cannot replace.
 */
function cacheGet(key: unknown, defaultValue?: unknown, options?: { jsonSerialize?: unknown } | null): Promise<unknown> {
  let asText: boolean
  try {
    asText = options?.jsonSerialize === false
  } catch (err) {
    return Promise.reject(err)
  }
  return hostAsync('cache.get', [key], (stored) => {
    if (stored === null || stored === undefined) return defaultValue ?? null
    if (asText) return stored
    try {
      return parse(stored as string)
    } catch {
      return stored
    }
  })
}

/** The `meta` argument: data copied in once, capabilities forwarded to the host. Built once per isolate. */
export function createMeta(info: LoadInfo, jobNames: string[], metrics: Record<string, string>): Record<string, unknown> {
  const attachments: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(info.attachments)) {
    attachments[key] = value && value.contents instanceof Uint8Array ? { ...value, contents: runtimeBuffer().from(value.contents) } : value
  }
  const declared: Record<string, unknown> = {}
  for (const name of jobNames) {
    // Queued as JSON (PostHog's graphile jobs were too), so made as JSON when queued: the run sees what was meant.
    declared[name] = (payload?: unknown) => ({
      runNow: () => hostAsyncOf('jobs.enqueue', () => [name, asJson(payload), 'now']),
      runAt: (date: Date) => hostAsyncOf('jobs.enqueue', () => [name, asJson(payload), 'at', new Date(date).getTime()]),
      runIn: (duration: number, unit: string) => hostAsyncOf('jobs.enqueue', () => [name, asJson(payload), 'in', Number(duration), String(unit)]),
    })
  }
  // Calling a job the plugin does not export says which one, instead of "is not a function".
  const jobs = new Proxy(declared, {
    get: (target, key) => {
      if (typeof key !== 'string' || key in target || key === 'then' || key === 'toJSON') return target[key as string]
      return () => {
        throw new Error(`unknown job "${key}": this plugin exports ${jobNames.length ? `the jobs ${jobNames.join(', ')}` : 'no jobs'}`)
      }
    },
  })
  const metricApi: Record<string, unknown> = {}
  for (const [name, operation] of Object.entries(metrics)) {
    const allowed = METRIC_METHODS[operation]
    if (!allowed) continue
    // Every method exists on every metric so that a wrong one says what to call instead of "not a function".
    metricApi[name] = Object.fromEntries(
      Object.entries(METRIC_METHODS).map(([op, method]) => [
        method,
        (value: number) => {
          if (op !== operation) throw new Error(`metric "${name}" is a ${operation} metric: use ${allowed}(), not ${method}()`)
          if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`metric "${name}": ${method}() needs a finite number, got ${String(value)}`)
          return hostFire('metric', [name, operation, value])
        },
      ]),
    )
  }
  return {
    config: info.config,
    attachments,
    global: {},
    jobs,
    metrics: metricApi,
    cache: {
      ...Object.fromEntries(['incr', 'expire', 'lpush', 'lrange', 'llen', 'lpop', 'lrem'].map((m) => [m, cacheMethod(m)])),
      get: cacheGet,
      set: cacheSet,
    },
    storage: {
      get: (key: string, defaultValue?: unknown) => hostAsync('storage.get', [key, defaultValue]),
      set: (key: string, value: unknown) => hostAsyncOf('storage.set', () => [key, asJson(value)]),
      del: (key: string) => hostAsync('storage.del', [key]),
    },
    utils: {
      cursor: {
        init: (key: string, initialValue?: number) => hostAsync('cursor.init', [key, initialValue]),
        increment: (key: string, incrementBy?: number) => hostAsync('cursor.increment', [key, incrementBy]),
      },
    },
    geoip: { locate },
  }
}
