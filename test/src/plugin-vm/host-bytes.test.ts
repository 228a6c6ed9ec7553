import assert from 'assert/strict'
import { loadCode } from './helpers'

// Byte arrays the host hands a plugin are copied into its isolate whole, ArrayBuffer and all: one
// that was a view into a larger host buffer would carry the rest of that buffer in with it.
describe('plugin-vm: bytes the host hands a plugin', function () {
  this.timeout(60_000)

  // The plugin's own ArrayBuffer.isView sees every raw array the sandbox's Buffer copies from.
  const spy = `
    const seen = []
    const isView = ArrayBuffer.isView
    ArrayBuffer.isView = (v) => { if (v instanceof Uint8Array) seen.push(v); return isView(v) }
    function sizes(run) {
      seen.length = 0
      run()
      return seen.map((v) => [v.byteLength, v.buffer.byteLength, new TextDecoder().decode(new Uint8Array(v.buffer)).includes('HOST-MARKER')])
    }`

  it('owns exactly its bytes, from zlib inline and in a work thread, hashes and random bytes', async () => {
    const { instance } = await loadCode(`
      import * as zlib from 'zlib'
      import * as crypto from 'crypto'
      ${spy}
      export function runEveryMinute() {
        const small = zlib.deflateSync('hello world hello world')
        const large = zlib.deflateSync(Array.from({ length: 20000 }, (_, i) => 'line ' + i).join('\\n'))
        return {
          inline: sizes(() => zlib.inflateSync(small, { chunkSize: 64 })),
          inlineDefault: sizes(() => zlib.inflateSync(small)),
          thread: sizes(() => zlib.inflateSync(large, { chunkSize: 64 })),
          hash: sizes(() => crypto.createHash('sha256').update('x').digest()),
          random: sizes(() => crypto.randomBytes(16)),
        }
      }`)
    try {
      // Small host Buffers come from Node's shared pool: one of them now holds what another team's code might.
      const marker = Buffer.from('HOST-MARKER of another team')
      const result = (await instance.call('runEveryMinute', [])) as Record<string, [number, number, boolean][]>
      void marker
      for (const [name, arrays] of Object.entries(result)) {
        assert.ok(arrays.length > 0, `${name}: the sandbox copied a host array`)
        for (const [length, bufferLength, marked] of arrays) {
          assert.equal(bufferLength, length, `${name}: a ${length}-byte result arrived in a ${bufferLength}-byte buffer`)
          assert.equal(marked, false, `${name}: the host's other bytes arrived with it`)
        }
      }
    } finally {
      instance.dispose()
    }
  })

  it('passes zlib only the options that shape its output: `info` and an outsized chunk change nothing', async () => {
    const { instance } = await loadCode(`
      import * as zlib from 'zlib'
      export function runEveryMinute() {
        const packed = zlib.deflateSync('hello world')
        return zlib.inflateSync(packed, { info: true, chunkSize: 50 * 1024 * 1024 }).toString()
      }`)
    try {
      assert.equal(await instance.call('runEveryMinute', []), 'hello world')
    } finally {
      instance.dispose()
    }
  })
})
