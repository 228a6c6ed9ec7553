import assert from 'assert/strict'
import { createHash, createHmac, randomBytes } from 'crypto'
import { gunzipSync } from 'zlib'
import { PluginLimitError } from '@plugin-server/plugin-vm'
import { disposal, loadCode, rejection } from './helpers'

/**
 * Watches the host's event loop: the longest gap between ticks of a 10 ms interval. Work done on the
 * loop would stall it for the whole time limit (2-3 s); STALL_MS leaves room for a busy machine's
 * scheduling hiccups without letting such a stall through.
 */
const STALL_MS = 1000

function eventLoopProbe(): { stop: () => number } {
  let last = performance.now()
  let longest = 0
  const timer = setInterval(() => {
    const now = performance.now()
    longest = Math.max(longest, now - last)
    last = now
  }, 10)
  return {
    stop: () => {
      clearInterval(timer)
      return longest
    },
  }
}

/** CPU this process (all its threads) uses over `ms`, in ms. */
async function processCpuMs(ms: number): Promise<number> {
  const before = process.cpuUsage()
  await new Promise((r) => setTimeout(r, ms))
  const used = process.cpuUsage(before)
  return (used.user + used.system) / 1000
}

/** 12 MB that brotli cannot shrink (≈ 30 s of work at its default quality on this machine). */
const NOISE = `
function noise(size) {
  const bytes = new Uint8Array(size)
  let x = 2463534242
  for (let i = 0; i < size; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; bytes[i] = x & 255 }
  return Buffer.from(bytes.buffer)
}`

describe('plugin-vm: zlib, hashing and jsonwebtoken run off the event loop, within bounds', function () {
  this.timeout(60_000)

  it('keeps the host event loop ticking while brotliCompressSync works on 12 MB, and stops it at the time limit', async () => {
    const { host, instance } = await loadCode(
      `import * as zlib from 'zlib'\n${NOISE}\nexport function runEveryMinute() { return zlib.brotliCompressSync(noise(12 * 1024 * 1024)).length }`,
      {},
      { timeoutMs: 3000 },
    )
    const probe = eventLoopProbe()
    const outcome = await instance.call('runEveryMinute', []).then(
      (length) => `compressed to ${String(length)} bytes`,
      (error: Error) => error,
    )
    const longestGapMs = probe.stop()
    assert.ok(longestGapMs < STALL_MS, `the event loop stalled for ${Math.round(longestGapMs)} ms`)
    if (typeof outcome !== 'string') {
      assert.ok(outcome instanceof PluginLimitError, `${outcome.name}: ${outcome.message}`)
      assert.equal(outcome.limit, 'time')
      assert.equal(outcome.message, 'plugin inline (config 1) exceeded its time limit (3000 ms)')
      assert.equal(instance.disposed, true)
      assert.ok(host.logs.some((l) => l.level === 'error' && l.message.includes('exceeded its time limit')))
      // The worker thread was terminated with the isolate (brotli is fed in pieces, so it stops within one): the process goes idle.
      const cpuMs = await processCpuMs(1000)
      assert.ok(cpuMs < 500, `the process used ${Math.round(cpuMs)} ms of CPU in the second after the breach`)
    }
  })

  it('refuses an input over PLUGIN_HOST_WORK_MAX_BYTES, before any work is done', async () => {
    const { instance } = await loadCode(
      `import * as zlib from 'zlib'\nimport { createHash } from 'crypto'
      export function runEveryMinute() {
        const big = Buffer.alloc(2 * 1024 * 1024, 7)
        const errors = []
        for (const attempt of [() => zlib.gzipSync(big), () => createHash('sha256').update(big).digest('hex')]) {
          try { attempt(); errors.push('no error') } catch (e) { errors.push(e.name + ': ' + e.message) }
        }
        return errors
      }`,
      {},
      { hostWorkMaxBytes: 1024 * 1024 },
    )
    try {
      assert.deepEqual(await instance.call('runEveryMinute', []), [
        'RangeError: zlib.gzip: the input is larger than 1048576 bytes, the host work limit (PLUGIN_HOST_WORK_MAX_BYTES)',
        'RangeError: crypto.createHash: the input is larger than 1048576 bytes, the host work limit (PLUGIN_HOST_WORK_MAX_BYTES)',
      ])
    } finally {
      instance.dispose()
    }
  })

  it('keeps gzip and gunzip round trips working, sync and callback forms, below and above the inline size', async () => {
    const { instance } = await loadCode(`import * as zlib from 'zlib'
      export async function runEveryMinute() {
        const results = {}
        for (const size of [100, 300 * 1024]) {
          const text = 'hello world '.repeat(Math.ceil(size / 12))
          const syncRound = zlib.gunzipSync(zlib.gzipSync(text)).toString() === text
          const callbackRound = await new Promise((resolve, reject) =>
            zlib.gzip(text, (err, zipped) => (err ? reject(err) : zlib.gunzip(zipped, (err2, out) => (err2 ? reject(err2) : resolve(out.toString() === text))))),
          )
          const brotliRound = zlib.brotliDecompressSync(zlib.brotliCompressSync(text)).toString() === text
          results[size] = { syncRound, callbackRound, brotliRound, gzipped: zlib.gzipSync(text).toString('base64') }
        }
        return results
      }`)
    try {
      const results = (await instance.call('runEveryMinute', [])) as Record<
        string,
        { syncRound: boolean; callbackRound: boolean; brotliRound: boolean; gzipped: string }
      >
      for (const size of ['100', String(300 * 1024)]) {
        const { gzipped, ...rounds } = results[size]
        assert.deepEqual(rounds, { syncRound: true, callbackRound: true, brotliRound: true }, `size ${size}`)
        // What the plugin produced is real gzip, readable by the host's own zlib.
        assert.equal(gunzipSync(Buffer.from(gzipped, 'base64')).toString().length >= Number(size), true)
      }
    } finally {
      instance.dispose()
    }
  })

  it('computes the same hashes, HMACs and tokens whether the input runs inline or in a worker thread', async () => {
    const big = randomBytes(512 * 1024)
    const { instance } = await loadCode(`import { createHash, createHmac } from 'crypto'
      import jwt from 'jsonwebtoken'
      export function processEvent(event) {
        const big = Buffer.from(event.properties.big, 'base64')
        const token = jwt.sign({ blob: event.properties.big }, 'secret', { algorithm: 'HS256', noTimestamp: true })
        event.properties = {
          sha: createHash('sha256').update(big).digest('hex'),
          hmac: createHmac('sha1', 'key').update(big).update('tail').digest('base64'),
          small: createHash('md5').update('abc').digest('hex'),
          verified: jwt.verify(token, 'secret').blob === event.properties.big,
        }
        return event
      }`)
    try {
      const [result] = await instance.processEventBatch([{ event: 'e', properties: { big: big.toString('base64') } }])
      assert.deepEqual(result, {
        ok: true,
        event: {
          event: 'e',
          properties: {
            sha: createHash('sha256').update(big).digest('hex'),
            hmac: createHmac('sha1', 'key').update(big).update('tail').digest('base64'),
            small: createHash('md5').update('abc').digest('hex'),
            verified: true,
          },
        },
      })
    } finally {
      instance.dispose()
    }
  })

  it('fails a background timer that compresses too long with the time limit, without stalling the event loop', async () => {
    const { host, instance } = await loadCode(
      `import * as zlib from 'zlib'\n${NOISE}\nexport function setupPlugin() { setTimeout(() => zlib.brotliCompressSync(noise(12 * 1024 * 1024)), 1) }`,
      {},
      { timeoutMs: 2000 },
    )
    const probe = eventLoopProbe()
    await instance.call('setupPlugin', [])
    await disposal(instance)
    assert.ok(probe.stop() < STALL_MS)
    assert.ok(host.logs.some((l) => l.message === 'plugin inline (config 1) exceeded its time limit (2000 ms); the isolate was disposed'))
    assert.ok((await rejection(instance.call('setupPlugin', []))) instanceof PluginLimitError)
  })
})
