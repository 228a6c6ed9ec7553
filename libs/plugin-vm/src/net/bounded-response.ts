import type { ClientRequest, IncomingMessage } from 'http'
import type { Readable } from 'stream'
import zlib from 'zlib'
import { holdBytes, releaseBytes, sharedFull, wouldPass, type ByteBudget } from '../byte-budget'

/**
 * Counts what `stream` hands its reader against `budget`, from each chunk it pushes until it ends
 * or closes, and destroys it with `refusal()` past the budget. Counted in `push`, where the source
 * hands each chunk over, so no listener changes how the SDK reads it.
 */
function countPushes(stream: Readable, budget: ByteBudget, refusal: (bytes: number) => Error): void {
  let held = 0
  const release = (): void => {
    releaseBytes(budget, held)
    held = 0
  }
  const push = stream.push.bind(stream)
  stream.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
    if (chunk !== null && chunk !== undefined && !stream.destroyed) {
      const bytes = (chunk as { length: number }).length
      if (!holdBytes(budget, bytes)) {
        const error = refusal(bytes)
        release()
        stream.destroy(error)
        return false
      }
      held += bytes
    }
    return push(chunk, encoding)
  }
  stream.once('end', release)
  stream.once('close', release)
}

/**
 * Why a response was stopped when `bytes` more of it did not fit: fetch's, posthog.api's, a bridged
 * SDK's HTTP or pg answer (they share the budget). Names the budget that was full: the instance's,
 * or one it sits within (what the host holds for its team, for the process).
 */
export function responsesFull(budget: ByteBudget, bytes: number): string {
  const shared = sharedFull(budget, bytes)
  if (shared) return `${wouldPass(shared, bytes, budget)} (${shared.variable})`
  return `this plugin's responses being read hold over ${budget.limit} bytes together, the limit of one response body`
}

/**
 * Counts the body of an HTTP response a bridged SDK receives against the instance's `budget` (the
 * bytes its responses being read hold together, fetch's and posthog.api's included). The SDKs read
 * a whole response into the host's memory before the plugin gets anything (aws-sdk's getObject,
 * Google's and Snowflake's JSON): a plugin's own server answering with a gigabyte ended the worker.
 */
export function boundResponse(req: ClientRequest, res: IncomingMessage, budget: ByteBudget, label: string): void {
  const origin = `${req.protocol}//${String(req.getHeader('host') ?? req.host)}`
  countPushes(res, budget, (bytes) => new Error(`${label}: a response from ${origin} stopped: ${responsesFull(budget, bytes)}`))
}

/** The zlib streams an HTTP client inflates a compressed body through (node-fetch, gaxios, axios). */
const INFLATERS = ['createGunzip', 'createInflate', 'createInflateRaw', 'createUnzip', 'createBrotliDecompress', 'createZstdDecompress'] as const

/**
 * Makes every inflating zlib stream created where `budgetHere()` names a budget count what it
 * inflates there too: a body counted as it arrives may inflate a thousandfold (a 20 KB gzip answer
 * is 20 MB once an SDK's client has inflated it). Once per process; elsewhere (host code) zlib is
 * untouched.
 */
export function installInflateGuard(budgetHere: () => { responses?: ByteBudget; label: string } | undefined): void {
  const module = zlib as unknown as Record<string, unknown>
  for (const name of INFLATERS) {
    const create = module[name]
    if (typeof create !== 'function') continue
    // Node defines them read-only but configurable.
    Object.defineProperty(module, name, {
      configurable: true,
      enumerable: true,
      writable: false,
      value: function guardedInflater(this: unknown, ...args: unknown[]): Readable {
        const stream = (create as (...a: unknown[]) => Readable).apply(this, args)
        const scope = budgetHere()
        const budget = scope?.responses
        if (budget) countPushes(stream, budget, (bytes) => new Error(`${scope.label}: an inflated response stopped: ${responsesFull(budget, bytes)}`))
        return stream
      },
    })
  }
}
