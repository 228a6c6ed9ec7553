import assert from 'node:assert/strict'
import pino from 'pino'
import { Gauge, Registry } from 'prom-client'
import { startHealthServer } from '@plugin-server/core'

describe('health and metrics server', () => {
  it('answers a scrape whose collector throws with a 500 naming the error, and goes on serving probes and scrapes', async () => {
    const registry = new Registry()
    let broken = true
    new Gauge({
      name: 'sometimes_broken',
      help: 'throws while broken',
      registers: [registry],
      collect() {
        if (broken) throw new Error('collector broke')
        this.set(1)
      },
    })
    const lines: { msg: string; err?: string }[] = []
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) })
    const server = await startHealthServer(0, registry, [], logger)
    try {
      const url = (path: string) => `http://127.0.0.1:${server.port}${path}`
      const failed = await fetch(url('/metrics'))
      assert.equal(failed.status, 500)
      assert.match(await failed.text(), /collector broke/)
      assert.ok(lines.some((l) => l.msg === '/metrics could not be collected' && l.err === 'collector broke'))
      assert.equal((await fetch(url('/readyz'))).status, 200)
      broken = false
      const scrape = await fetch(url('/metrics'))
      assert.equal(scrape.status, 200)
      assert.match(await scrape.text(), /^sometimes_broken 1$/m)
    } finally {
      await server.close()
    }
  })
})
