import type { IncomingMessage } from 'node:http'
import { CaptureError } from './parse'

/** Reads the raw body, refusing it as soon as it passes the limit rather than after buffering it all. */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'])
    if (Number.isFinite(declared) && declared > maxBytes) {
      req.resume()
      return reject(new CaptureError(413, 'payload_too_large', `request body of ${declared} bytes is larger than the limit of ${maxBytes} bytes`))
    }
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > maxBytes) {
        req.removeAllListeners('data')
        req.resume()
        reject(new CaptureError(413, 'payload_too_large', `request body is larger than the limit of ${maxBytes} bytes`))
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}
