import { parentPort } from 'worker_threads'
import { bytes, WORK_OPS, ZLIB_MAX_OUTPUT, zlibOptions } from '../host-sync-ops'
import { brotliCompressInPieces } from './brotli-in-pieces'
import { transferList, WorkReply, WorkRequest } from './work-messages'

/** Entry of a host work thread: runs one zlib/crypto/jsonwebtoken task at a time for the main thread. */
async function run({ op, args }: WorkRequest): Promise<unknown> {
  // The one operation whose native steps can run for seconds: fed in pieces so termination is prompt.
  if (op === 'zlib' && args[0] === 'brotliCompress') {
    return bytes(await brotliCompressInPieces(args[1] as Uint8Array, zlibOptions(args[2]), ZLIB_MAX_OUTPUT))
  }
  const work = WORK_OPS[op]
  if (!work) throw new Error(`unknown host work operation ${op}`)
  return work(args)
}

parentPort?.on('message', (request: WorkRequest) => {
  run(request).then(
    (value) => reply({ id: request.id, ok: true, value }),
    (error: unknown) => {
      const e = error as { name?: unknown; message?: unknown; code?: unknown }
      const code = typeof e?.code === 'string' || typeof e?.code === 'number' ? e.code : undefined
      reply({ id: request.id, ok: false, error: { name: String(e?.name ?? 'Error'), message: String(e?.message ?? error), code } })
    },
  )
})

function reply(message: WorkReply): void {
  parentPort?.postMessage(message, transferList(message.value))
}
