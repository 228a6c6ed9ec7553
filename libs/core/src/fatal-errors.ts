import { spawn } from 'child_process'
import { writeSync } from 'fs'
import pino from 'pino'
import type { Logger } from './logger'

/**
 * How long a fatal exit may take. `process.exit` can hang (isolated-vm waits for an isolate that is
 * still running, measured: forever for a busy plugin), so a watchdog outside the process kills it
 * when this passes.
 */
export const FATAL_EXIT_DEADLINE_MS = 800

let logger: Logger | undefined
let installed = false
let dying = false

/**
 * An uncaught exception or unhandled rejection is a bug we did not contain: log it with its stack,
 * flushed, and exit 1 at once, without the graceful shutdown (it may hang on the very thing that
 * broke). The supervisor restarts the process; unfinished queue jobs go to other workers. Installed
 * once per process; a later call only changes the logger (the CLI's, then the role's).
 */
export function installFatalHandlers(log: Logger): void {
  logger = log
  if (installed) return
  installed = true
  process.on('uncaughtException', (error) => die('uncaught exception', error))
  process.on('unhandledRejection', (reason) => die('unhandled promise rejection', reason))
}

function die(kind: string, error: unknown): void {
  // A second failure while exiting changes nothing: the watchdog is already armed.
  if (dying) return
  dying = true
  armWatchdog()
  const err = error instanceof Error ? error : new Error(String(error))
  let logged = false
  try {
    logger?.fatal({ err, fatal: kind }, `${kind}, exiting: ${err.message}`)
    logged = logger !== undefined && flushSync(logger)
  } catch {
    // The plain line below still says what happened.
  }
  if (!logged) {
    try {
      writeSync(2, `plugin-server: ${kind}, exiting: ${err.stack ?? err.message}\n`)
    } catch {
      // Nowhere left to write.
    }
  }
  process.exit(1)
}

/** Writes what pino has buffered now; false when its stream cannot (pino-pretty's transform). */
function flushSync(log: Logger): boolean {
  const stream = (log as unknown as Record<symbol, { flushSync?: () => void } | undefined>)[pino.symbols.streamSym]
  if (typeof stream?.flushSync !== 'function') return false
  stream.flushSync()
  return true
}

/** A detached `sh` that SIGKILLs this process if it is still alive after the deadline. */
function armWatchdog(): void {
  try {
    const seconds = (FATAL_EXIT_DEADLINE_MS / 1000).toFixed(2)
    const watchdog = spawn('/bin/sh', ['-c', `sleep ${seconds}; kill -9 ${process.pid} 2>/dev/null`], { detached: true, stdio: 'ignore' })
    watchdog.on('error', () => undefined)
    watchdog.unref()
  } catch {
    // No watchdog: exit still runs; only a hang would go unbounded.
  }
}
