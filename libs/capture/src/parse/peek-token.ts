import { constants, gunzipSync } from 'node:zlib'
import { MAX_PROJECT_TOKEN_LENGTH } from '@plugin-server/core'
import { headerValue } from './headers'
import { looksGzipped } from './gunzip-bounded'
import { CaptureRequest } from './interfaces'

/** Enough gzip to inflate past a first key and a token of the longest allowed (MAX_PROJECT_TOKEN_LENGTH, 64). */
const PEEK_INPUT_BYTES = 256
const FIRST_KEY = new RegExp(`^\\s*\\{\\s*"(api_key|token)"\\s*:\\s*"([\\x21-\\x7e]{1,${MAX_PROJECT_TOKEN_LENGTH}}?)"(\\s*,\\s*"batch"\\s*:\\s*\\[)?`)

/**
 * The first key of a gzip body's JSON object when it is `api_key` or `token` with a plain token
 * value, read by inflating only the body's first bytes; null otherwise. The server looks the token
 * up before inflating the rest: a body of a few KB inflates to the 20 MB limit, and took a
 * hundred milliseconds or more of the event loop to inflate and parse before a made-up token was
 * found out. A token named later in the body still costs the full parse. `batch` says a `"batch": [`
 * follows it, as in posthog-node's bodies: only then is a first `api_key` the request's token (a
 * single event's gives way to the query's and to its own `token`).
 */
export function peekFirstKey(req: Pick<CaptureRequest, 'headers' | 'body'>): { key: 'api_key' | 'token'; token: string; batch: boolean } | null {
  const encoding = (headerValue(req.headers, 'content-encoding') ?? '').trim().toLowerCase()
  if (encoding !== 'gzip' && encoding !== 'x-gzip' && !looksGzipped(req.body)) return null
  let start: string
  try {
    // A sync flush gives what the first bytes inflate to, without the error an unfinished stream raises.
    start = gunzipSync(req.body.subarray(0, PEEK_INPUT_BYTES), { finishFlush: constants.Z_SYNC_FLUSH }).toString('latin1', 0, 200)
  } catch {
    return null
  }
  const match = FIRST_KEY.exec(start)
  if (match === null || match[2].includes('\\')) return null
  return { key: match[1] as 'api_key' | 'token', token: match[2], batch: match[3] !== undefined }
}
