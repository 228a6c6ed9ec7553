import type { ClientRequest, IncomingMessage } from 'http'
import { holdBytes, type ByteBudget } from '../byte-budget'

/**
 * Counts the body of an HTTP response a bridged SDK receives against the instance's `budget` (the
 * bytes its responses being read hold together, fetch's and posthog.api's included), from each chunk
 * until the response ends or closes, and stops it with an error past the budget. The SDKs read a
 * whole response into the host's memory before the plugin gets anything (aws-sdk's getObject,
 * Google's and Snowflake's JSON): a plugin's own server answering with gigabytes held them all
 * there, outside the isolate's limit. Counted in `push`, where the HTTP parser hands each chunk to
 * the response, so no listener changes how the SDK reads it.
 */
export function boundResponse(req: ClientRequest, res: IncomingMessage, budget: ByteBudget, label: string): void {
  let held = 0
  const release = (): void => {
    budget.bytes -= held
    held = 0
  }
  const push = res.push.bind(res)
  res.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
    if (chunk !== null && chunk !== undefined && !res.destroyed) {
      const bytes = (chunk as { length: number }).length
      if (!holdBytes(budget, bytes)) {
        release()
        res.destroy(
          new Error(
            `${label}: a response from ${req.protocol}//${String(req.getHeader('host') ?? req.host)} stopped: this plugin's responses being read hold over ${budget.limit} bytes together, the limit of one response body`,
          ),
        )
        return false
      }
      held += bytes
    }
    return push(chunk, encoding)
  }
  res.once('end', release)
  res.once('close', release)
}
