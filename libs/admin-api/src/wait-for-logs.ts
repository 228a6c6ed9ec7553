import type { IncomingMessage } from 'node:http'
import { LogQuery, ManagementContext, PluginLogRow, readLogs } from '@plugin-server/management'
import type { LogTail, LogTailPlace } from './log-tail'

/** Aborts when the client's connection closes before the answer is sent. */
function clientGone(req: IncomingMessage): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController()
  const abort = () => controller.abort()
  if (req.socket.destroyed) abort()
  else req.socket.once('close', abort)
  return { signal: controller.signal, dispose: () => req.socket.off('close', abort) }
}

/**
 * The rows after `query.afterId`, waiting up to `waitMs` for the first of them. Rows of the config
 * that the filters leave out wake the wait but are not answered; it goes on waiting past them.
 */
export async function waitForLogs(
  req: IncomingMessage,
  management: ManagementContext,
  tail: LogTail,
  teamId: number,
  configId: number,
  query: LogQuery & { afterId: number },
  waitMs: number,
): Promise<PluginLogRow[]> {
  const deadline = Date.now() + waitMs
  const gone = clientGone(req)
  // Taken at the first wait and kept through the waits after it, until the poll is answered.
  let place: LogTailPlace | undefined
  try {
    let cursor = query.afterId
    // Where each read starts: past the rows the read before the last wake found none of (those up
    // to the cursor it waited past). From `after` every time, a filtered poll over a steadily logging
    // config read the whole history after it twice a second, each of a team's ten polls at once.
    let readFrom = query.afterId
    for (;;) {
      const rows = await readLogs(management, configId, { ...query, afterId: readFrom })
      const left = deadline - Date.now()
      if (rows.length > 0 || left <= 0 || gone.signal.aborted) return rows
      place ??= tail.take(teamId)
      const newest = await place.waitPast(configId, cursor, left, gone.signal)
      if (newest === null) return []
      readFrom = cursor
      cursor = newest
    }
  } finally {
    place?.release()
    gone.dispose()
  }
}
