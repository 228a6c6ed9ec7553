import { build, BuildOptions, BuildResult, stop } from 'esbuild'

/**
 * What a build fails with once esbuild's service process is gone, sometimes with the write that
 * found it gone after it (`The service was stopped: write EPIPE`): never a BuildFailure (those carry `errors`).
 */
const SERVICE_GONE = /^The service (was stopped|is no longer running)(:|$)/
/** How long the service is kept after its last build. */
const IDLE_STOP_MS = 10_000

let inFlight = 0
let idleTimer: NodeJS.Timeout | null = null
/** Which service process builds run on: each stop starts the next. */
let generation = 0
let stopping: Promise<void> | null = null

function serviceGone(error: unknown): boolean {
  return error instanceof Error && !('errors' in error) && SERVICE_GONE.test(error.message)
}

/**
 * Stops the service of `of`, unless it is not the current one any more: stopping a live service
 * leaves the builds in flight on it unanswered for good (esbuild's stop does not fail them).
 */
function replace(of: number): Promise<void> {
  if (of === generation) {
    generation++
    stopping = stop().finally(() => (stopping = null))
  }
  return stopping ?? Promise.resolve()
}

/**
 * esbuild's `build`, on its one service process, which is stopped once idle: the Go process keeps
 * the memory of its largest build, and nothing else frees it (930 MB after a plugin nested 160 000
 * levels deep; 17 MB after ordinary ones, and ~10 ms to start a new one for the next build). A
 * service that died (a million levels ran it out of stack) failed every build in flight on it, and
 * every later one with `The service is no longer running` until the process restarted: it is
 * replaced, and each of those builds runs once more on the new one.
 */
export async function esbuild<T extends BuildOptions>(options: Parameters<typeof build<T>>[0]): Promise<BuildResult<T>> {
  inFlight++
  if (idleTimer !== null) clearTimeout(idleTimer)
  idleTimer = null
  try {
    for (let attempt = 1; ; attempt++) {
      await stopping
      const ranOn = generation
      try {
        return await build(options)
      } catch (error) {
        if (!serviceGone(error) || attempt > 1) throw error
        await replace(ranOn)
      }
    }
  } finally {
    if (--inFlight === 0) {
      idleTimer = setTimeout(() => {
        idleTimer = null
        if (inFlight === 0) void replace(generation)
      }, IDLE_STOP_MS)
      idleTimer.unref()
    }
  }
}
