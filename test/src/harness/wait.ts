import os from 'node:os'

/** The most a bound is stretched: a hang must still fail the run, just later. */
const MAX_SCALE = 4

/**
 * How much slower than an idle machine this run is now: TEST_TIME_SCALE when set, otherwise the
 * 1-minute load per core, between 1 and 4. On 2 cores shared by several suites a CLI start or a
 * fleet start takes several times what it takes alone, and bounds must follow, not fire.
 */
export function timeScale(): number {
  const set = Number(process.env.TEST_TIME_SCALE)
  if (Number.isFinite(set) && set > 0) return set
  const perCore = os.loadavg()[0] / Math.max(1, os.cpus().length)
  return Math.min(MAX_SCALE, Math.max(1, perCore))
}

/** `ms` stretched by the machine's current slowness; for bounds on waits, never for sleeps. */
export function bound(ms: number): number {
  return Math.round(ms * timeScale())
}

export interface WaitOptions {
  /** Before scaling (see bound). */
  timeoutMs?: number
  intervalMs?: number
}

/**
 * Polls `check` until `done` accepts its value, or fails naming `what` and the last value once the
 * (scaled) bound has passed.
 */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, done: (value: T) => boolean, options: WaitOptions = {}): Promise<T> {
  const timeoutMs = bound(options.timeoutMs ?? 30_000)
  const deadline = Date.now() + timeoutMs
  let last = await check()
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(last)} after ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 100))
    last = await check()
  }
  return last
}

interface TimedRunnable {
  timeout(): number
  timeout(ms: number): unknown
}
interface SuiteTree extends TimedRunnable {
  suites: SuiteTree[]
  tests: TimedRunnable[]
  _beforeAll?: TimedRunnable[]
  _beforeEach?: TimedRunnable[]
  _afterAll?: TimedRunnable[]
  _afterEach?: TimedRunnable[]
}

/**
 * Stretches every suite's, hook's and test's mocha timeout by the current scale, once, before the
 * first test runs: `this.timeout(60_000)` means 60 s on an idle machine. Every value is read before
 * any is set, and a suite is set before what it holds, because mocha 11's Suite#timeout(ms) also
 * sets every test and suite below it: setting the root first overwrote a file's own
 * `this.timeout(600_000)` with the root's 60 s (the short soak run, 2½ minutes, failed at 60 s
 * whenever the machine was idle enough for a scale of 1).
 */
export function scaleMochaTimeouts(root: SuiteTree, scale = timeScale()): void {
  const planned: [TimedRunnable, number][] = []
  const plan = (r: TimedRunnable) => planned.push([r, r.timeout()])
  const visit = (suite: SuiteTree) => {
    plan(suite)
    for (const hooks of [suite._beforeAll, suite._beforeEach, suite._afterAll, suite._afterEach]) hooks?.forEach(plan)
    suite.tests.forEach(plan)
    suite.suites.forEach(visit)
  }
  visit(root)
  for (const [r, ms] of planned) r.timeout(Math.round(ms * scale))
}
