import { build, BuildOptions, BuildResult, stop } from 'esbuild'

/** What esbuild's builds fail with once its service process has died under one. */
const SERVICE_GONE = /The service (was stopped|is no longer running)/
/** How long the service is kept after its last build. */
const IDLE_STOP_MS = 10_000

let inFlight = 0
let idleTimer: NodeJS.Timeout | null = null

/**
 * esbuild's `build`, on its one service process, which is stopped once idle: the Go process keeps
 * the memory of its largest build, and nothing else frees it (930 MB after a plugin nested 160 000
 * levels deep; 17 MB after ordinary ones, and ~10 ms to start a new one for the next build). A
 * service that died (a million levels ran it out of stack) fails the build it died under and is
 * replaced for the builds after it, other plugins': they failed with `The service is no longer
 * running` until the process restarted.
 */
export async function esbuild<T extends BuildOptions>(options: Parameters<typeof build<T>>[0]): Promise<BuildResult<T>> {
  inFlight++
  if (idleTimer !== null) clearTimeout(idleTimer)
  idleTimer = null
  try {
    return await build(options)
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    if (!SERVICE_GONE.test(message)) throw error
    await stop()
    // Dead before this build began (another build's input killed it): this one runs on a new service.
    if (message.includes('is no longer running')) return await build(options)
    throw error
  } finally {
    if (--inFlight === 0) {
      idleTimer = setTimeout(() => {
        idleTimer = null
        if (inFlight === 0) void stop()
      }, IDLE_STOP_MS)
      idleTimer.unref()
    }
  }
}
