import type { IncomingMessage } from 'node:http'
import { CaptureError } from './parse'
import type { BodyHold } from '@plugin-server/core'

/**
 * Reads the raw body, refusing it as soon as it passes the limit rather than after buffering it all,
 * or as soon as the process's budget of bodies in flight has no room for its next chunk (`refused`
 * says why).
 */
export function readBody(req: IncomingMessage, maxBytes: number, hold: BodyHold, refused: () => CaptureError): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'])
    if (Number.isFinite(declared) && declared > maxBytes) {
      req.resume()
      return reject(new CaptureError(413, 'payload_too_large', `request body of ${declared} bytes is larger than the limit of ${maxBytes} bytes`))
    }
    let chunks: Buffer[] = []
    let size = 0
    const stop = (error: CaptureError) => {
      req.removeAllListeners('data')
      // The rest is read and dropped (the connection stays usable) for up to the request timeout,
      // after the budget has let go of it: what was kept goes now, not with the request.
      chunks = []
      req.resume()
      reject(error)
    }
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > maxBytes) return stop(new CaptureError(413, 'payload_too_large', `request body is larger than the limit of ${maxBytes} bytes`))
      if (!hold.resize(size)) return stop(refused())
      chunks.push(chunk)
    })
    let ended = false
    req.on('end', () => ((ended = true), resolve(Buffer.concat(chunks))))
    // A connection closed mid-body (the server's request timeout, the client gone) settles it too, so
    // its hold is given back. Node destroys the request with an 'aborted' error first: the client's
    // doing, not the server's (it was a 503 and an error line, which anyone could make by hanging up).
    const gone = () => {
      chunks = []
      if (!ended) reject(new CaptureError(408, 'request_timeout', 'the request body was not received in time'))
    }
    req.on('error', gone)
    req.on('close', gone)
  })
}
