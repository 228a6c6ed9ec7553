import type { Logger } from './logger'

export type Closer = { name: string; close: () => Promise<void> }

/**
 * Closers run in the order given: first the ones that stop taking work, then the ones that finish
 * in-flight work, then connections. Past the grace period the process exits anyway, leaving
 * unfinished BullMQ jobs to be taken over by another worker through stall detection. Given as a
 * promise, they are waited for (within the grace period): a role still starting when the signal
 * comes is shut down with the closers its start returns.
 */
export function installShutdown(
  logger: Logger,
  graceMs: number,
  closers: Closer[] | Promise<Closer[]>,
  exit: (code: number) => void = process.exit,
): () => Promise<void> {
  let shuttingDown: Promise<void> | null = null
  const shutdown = (signal = 'shutdown'): Promise<void> => {
    if (shuttingDown) return shuttingDown
    logger.info({ signal, graceMs }, 'shutting down')
    const timer = setTimeout(() => {
      logger.error({ graceMs }, 'grace period over, exiting with work unfinished')
      exit(1)
    }, graceMs)
    timer.unref()
    shuttingDown = (async () => {
      let code = 0
      for (const closer of await closers) {
        try {
          await closer.close()
        } catch (err) {
          code = 1
          logger.error({ err: (err as Error).message, closer: closer.name }, 'error during shutdown')
        }
      }
      clearTimeout(timer)
      logger.info('shutdown complete')
      logger.flush?.()
      exit(code)
    })()
    return shuttingDown
  }
  process.once('SIGTERM', () => void shutdown('SIGTERM'))
  process.once('SIGINT', () => void shutdown('SIGINT'))
  return () => shutdown()
}
