import * as zlib from 'zlib'

/** Input the encoder takes between two flushes: about 0.3 s of work at its slowest (quality 11, random data). */
const PIECE = 128 * 1024

/**
 * brotliCompress for a host work thread. Given 12 MB at once, brotli can stay in native code for
 * seconds building one large meta-block, and a thread cannot be terminated until it comes back.
 * Fed in pieces, each flushed, every native step is short, so terminating the thread at the
 * deadline stops the work within one piece. The window carries over between pieces: little
 * compression is lost.
 */
export function brotliCompressInPieces(input: Uint8Array, options: zlib.BrotliOptions | undefined, maxOutputLength: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const engine = zlib.createBrotliCompress(options)
    const parts: Buffer[] = []
    let total = 0
    engine.on('data', (chunk: Buffer) => {
      total += chunk.length
      if (total > maxOutputLength) engine.destroy(new RangeError(`Cannot create a Buffer larger than ${maxOutputLength} bytes`))
      else parts.push(chunk)
    })
    engine.on('error', reject)
    engine.on('end', () => resolve(Buffer.concat(parts, total)))
    let offset = 0
    const next = () => {
      if (engine.destroyed) return
      if (offset >= input.length) return void engine.end()
      engine.write(input.subarray(offset, (offset += PIECE)))
      engine.flush(zlib.constants.BROTLI_OPERATION_FLUSH, next)
    }
    next()
  })
}
