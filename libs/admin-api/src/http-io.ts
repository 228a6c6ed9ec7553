import type { IncomingMessage, ServerResponse } from 'node:http'
import type { BodyHold } from '@plugin-server/core'
import { HttpError } from './interfaces'

/**
 * Refuses early on Content-Length, and again while streaming for chunked bodies that lie. `why`
 * completes the 413's message when a route's limit is its own, not the server's.
 */
export function readBody(req: IncomingMessage, limit: number, hold: BodyHold, why = ''): Promise<Buffer> {
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(limit, why))
  // What the body will hold is taken at once when it is declared, so a refused body is never read.
  if (Number.isFinite(declared) && !hold.resize(declared)) return Promise.reject(overloaded())
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let done = false
    req.on('data', (chunk: Buffer) => {
      if (done) return
      size += chunk.length
      if (size > limit || !hold.resize(Math.max(size, Number.isFinite(declared) ? declared : 0))) {
        done = true
        reject(size > limit ? tooLarge(limit, why) : overloaded())
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => {
      if (!done) resolve(Buffer.concat(chunks))
    })
    req.on('error', (err) => {
      if (!done) reject(err)
    })
  })
}

/** The process holds as many admin request bodies as it may (create-admin-api.ts); the rest is not read. */
function overloaded(): HttpError {
  return new HttpError(503, 'unavailable', 'the server holds as many admin request bodies as it may at once: retry shortly', undefined, {
    'Retry-After': '1',
    Connection: 'close',
  })
}

function tooLarge(limit: number, why: string): HttpError {
  // The rest of the body is not read, so the connection cannot be reused.
  return new HttpError(413, 'payload_too_large', `request body is larger than ${limit} bytes${why ? `: ${why}` : ''}`, undefined, { Connection: 'close' })
}

export async function readJsonObject(req: IncomingMessage, limit: number, hold: BodyHold, why = ''): Promise<Record<string, unknown>> {
  const body = await readBody(req, limit, hold, why)
  if (body.length === 0) return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(body.toString('utf8'))
  } catch {
    throw new HttpError(400, 'invalid_json', 'request body is not valid JSON')
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new HttpError(400, 'invalid_json', 'request body must be a JSON object')
  return parsed as Record<string, unknown>
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...headers })
  res.end(text)
}
