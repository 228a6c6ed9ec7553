import { hostFire } from './host-link'

/**
 * Timers are kept on the host (the isolate has no event loop). The host fires them back through
 * `fireTimer` with the call deadline as their time limit, charges what they run to the background
 * CPU budget, and drops them when the isolate dies.
 */
type Callback = (...args: unknown[]) => void

interface Timer {
  callback: Callback
  args: unknown[]
  interval: number | undefined
}

const MAX_TIMERS = 10000
/** A repeating timer fires at most every 10 ms: a 0 ms interval is a busy loop driven by the host. */
const MIN_INTERVAL_MS = 10
const timers = new Map<number, Timer>()
let nextId = 1

function schedule(callback: Callback, delay: unknown, args: unknown[], repeat: boolean): number {
  if (typeof callback !== 'function') throw new TypeError('The "callback" argument must be of type function')
  if (timers.size >= MAX_TIMERS) throw new Error(`too many pending timers (limit ${MAX_TIMERS})`)
  const ms = repeat ? Math.max(MIN_INTERVAL_MS, Number(delay) || 0) : Math.max(0, Number(delay) || 0)
  const id = nextId++
  timers.set(id, { callback, args, interval: repeat ? ms : undefined })
  hostFire('timer.set', [id, ms])
  return id
}

function clear(id: unknown): void {
  const key = Number(id)
  if (timers.delete(key)) hostFire('timer.clear', [key])
}

export function fireTimer(id: number): void {
  const timer = timers.get(id)
  if (!timer) return
  if (timer.interval === undefined) timers.delete(id)
  else hostFire('timer.set', [id, timer.interval])
  timer.callback(...timer.args)
}

export const timerGlobals = {
  setTimeout: (callback: Callback, delay?: number, ...args: unknown[]) => schedule(callback, delay, args, false),
  setInterval: (callback: Callback, delay?: number, ...args: unknown[]) => schedule(callback, delay, args, true),
  setImmediate: (callback: Callback, ...args: unknown[]) => schedule(callback, 0, args, false),
  clearTimeout: clear,
  clearInterval: clear,
  clearImmediate: clear,
  queueMicrotask: (callback: () => void) => void Promise.resolve().then(callback),
}
