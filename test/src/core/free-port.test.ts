import assert from 'node:assert/strict'
import net from 'node:net'
import { ephemeralStart, freePort } from '@plugin-server/dev-services'

describe('freePort (ports for the processes a test or bench starts)', () => {
  it('gives ports below the kernel’s ephemeral range, which no outgoing connection is handed', async () => {
    const start = ephemeralStart()
    for (let i = 0; i < 20; i++) {
      const port = await freePort()
      assert.ok(port >= 10_000 && port < start, `${port} is below ${start}`)
    }
  })

  it('gives a port a server can then listen on, on every interface', async () => {
    const port = await freePort()
    const server = net.createServer()
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen({ port }, resolve))
    await new Promise((resolve) => server.close(resolve))
  })
})
