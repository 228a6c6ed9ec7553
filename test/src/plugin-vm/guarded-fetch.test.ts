import assert from 'node:assert/strict'
import { getEventListeners } from 'node:events'
import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { fetchGuard, guardedFetch } from '@plugin-server/plugin-vm'
import { eventually } from '../harness/fleet'

/** A server whose bodies never end, counting the connections it has open. */
function endlessServer() {
  const open = new Set<Socket>()
  const server = http.createServer((req, res) => {
    if (req.url?.startsWith('/redirect')) res.writeHead(302, { location: '/ok' })
    else if (req.url === '/ok') return void res.end('ok')
    else res.writeHead(200)
    const timer = setInterval(() => res.write('x'.repeat(1024)), 5)
    res.on('close', () => clearInterval(timer))
  })
  server.on('connection', (socket: Socket) => {
    open.add(socket)
    socket.on('close', () => open.delete(socket))
  })
  return { server, open }
}

describe('guardedFetch: what a request holds once it ends', function () {
  this.timeout(30_000)
  const { server, open } = endlessServer()
  let port = 0
  const guard = fetchGuard(['127.0.0.1'])
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as AddressInfo).port
  })
  after(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })

  const closed = () =>
    eventually(
      'the server has no connection left',
      async () => open.size,
      (n) => n === 0,
      5_000,
    )

  it('closes the connection of a body stopped over its size, its budget or its time, and leaves no listener on the instance signal', async () => {
    const instance = new AbortController()
    const stops: [string, { maxBytes: number; limit: number; timeoutMs: number }, RegExp][] = [
      ['size', { maxBytes: 8 * 1024, limit: 1 << 20, timeoutMs: 0 }, /content size at http:\/\/127\.0\.0\.1:\d+\/… over limit/],
      ['budget', { maxBytes: 1 << 20, limit: 8 * 1024, timeoutMs: 0 }, /stopped/],
      ['time', { maxBytes: 1 << 30, limit: 1 << 30, timeoutMs: 100 }, /network timeout/],
    ]
    for (const [what, { maxBytes, limit, timeoutMs }, message] of stops) {
      for (let i = 0; i < 5; i++) {
        await assert.rejects(
          guardedFetch(`http://127.0.0.1:${port}/endless`, { timeoutMs }, { guard, maxBytes, signal: instance.signal, inFlight: { bytes: 0, limit } }),
          message,
          what,
        )
      }
      await closed()
      assert.equal(getEventListeners(instance.signal, 'abort').length, 0, `${what}: listeners left on the instance's signal`)
    }
  })

  it('closes the connection of a body over its size read without a budget (export webhooks), and leaves no listener on the signal', async () => {
    const caller = new AbortController()
    for (let i = 0; i < 3; i++) {
      await assert.rejects(
        guardedFetch(`http://127.0.0.1:${port}/endless`, {}, { guard, maxBytes: 8 * 1024, signal: caller.signal }),
        /content size at http:\/\/127\.0\.0\.1:\d+\/… over limit/,
      )
    }
    await closed()
    assert.equal(getEventListeners(caller.signal, 'abort').length, 0)
  })

  it("follows a redirect whose body never ends without reading it, and closes that hop's connection", async () => {
    const instance = new AbortController()
    const response = await guardedFetch(
      `http://127.0.0.1:${port}/redirect`,
      {},
      { guard, maxBytes: 1 << 20, signal: instance.signal, inFlight: { bytes: 0, limit: 1 << 20 } },
    )
    assert.equal(Buffer.from(response.body).toString(), 'ok')
    await closed()
    assert.equal(getEventListeners(instance.signal, 'abort').length, 0)
  })

  it('still aborts a request in flight when the instance is disposed (its signal aborted)', async () => {
    const instance = new AbortController()
    const fetching = guardedFetch(
      `http://127.0.0.1:${port}/endless`,
      {},
      { guard, maxBytes: 1 << 30, signal: instance.signal, inFlight: { bytes: 0, limit: 1 << 30 } },
    )
    await eventually(
      'the request reached the server',
      async () => open.size,
      (n) => n === 1,
      5_000,
    )
    instance.abort()
    await assert.rejects(fetching, /abort/i)
    await closed()
  })

  it('names a URL it could not reach by its origin only: no path, query or credentials, however node-fetch writes it', async () => {
    const unused = http.createServer()
    await new Promise<void>((resolve) => unused.listen(0, '127.0.0.1', resolve))
    const closedPort = (unused.address() as AddressInfo).port
    await new Promise((resolve) => unused.close(resolve))
    const error = await guardedFetch(`http://bot:p%3Aw0rd%40x@127.0.0.1:${closedPort}/hook|x?token=tok_SECRET123`, {}, { guard, maxBytes: 1000 }).then(
      () => assert.fail('nothing listens there'),
      (err: Error) => err,
    )
    assert.match(error.message, new RegExp(`request to http://127\\.0\\.0\\.1:${closedPort}/… failed`))
    for (const text of [error.message, error.stack ?? '']) assert.doesNotMatch(text, /tok_SECRET123|w0rd|hook|bot/)
  })
})
