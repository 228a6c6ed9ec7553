import assert from 'node:assert/strict'
import pino from 'pino'
import { Registry } from 'prom-client'
import type { EventBatcher } from '@plugin-server/core'
import { createCaptureMetrics, startCaptureServer, TeamResolver } from '@plugin-server/capture-lib'

const OPTIONS = {
  host: '127.0.0.1',
  port: 0,
  maxBodyBytes: 20 * 1024 * 1024,
  enqueueTimeoutMs: 500,
  trustProxy: false,
  maxEventBytes: 1024 * 1024,
  rateLimitPerSecond: 0,
  rateLimitBurst: 0,
  maxInFlightBytes: 32 * 1024 * 1024,
  bodyTimeoutMs: 30_000,
}

/** A capture server whose every token is team 1 and whose queue answers with `add`; its log lines kept. */
async function start(add: EventBatcher['add']) {
  const lines: string[] = []
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) })
  const teams: Pick<TeamResolver, 'teamId'> = { teamId: async () => 1 }
  const batcher: Pick<EventBatcher, 'add'> = { add }
  const server = await startCaptureServer(OPTIONS, {
    teams: teams as TeamResolver,
    batcher: batcher as EventBatcher,
    metrics: createCaptureMetrics(new Registry()),
    logger,
  })
  return { lines, server }
}

describe("capture's log lines", () => {
  it('writes one warning line for a request whatever number of its events have a bad timestamp, with the count and the first warning', async () => {
    const { lines, server } = await start(async () => undefined)
    try {
      const batch = Array.from({ length: 5000 }, (_, i) => ({ event: 'e', distinct_id: `d${i}`, timestamp: 'not a date', properties: {} }))
      const res = await fetch(`http://127.0.0.1:${server.port}/batch/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ api_key: 'phc_public', batch }),
      })
      assert.equal(res.status, 200)
      const warnings = lines.filter((l) => l.includes('capture warning')).map((l) => JSON.parse(l) as { warnings: number; warning: string })
      assert.equal(warnings.length, 1)
      assert.equal(warnings[0].warnings, 5000)
      assert.match(warnings[0].warning, /^event at index 0: ignored_invalid_timestamp/)
    } finally {
      await server.close()
    }
  })

  it("logs the path of a request it could not enqueue, never its query, which holds a GET capture's event", async () => {
    const { lines, server } = await start(() => Promise.reject(new Error('Connection is closed.')))
    try {
      const event = { event: '$pageview', api_key: 'phc_public', distinct_id: 'user-1', properties: { email: 'alice@example.com' } }
      const data = Buffer.from(JSON.stringify(event)).toString('base64')
      const res = await fetch(`http://127.0.0.1:${server.port}/e/?data=${encodeURIComponent(data)}&compression=base64`)
      assert.equal(res.status, 503)
      const failed = lines.filter((l) => l.includes('capture request failed'))
      assert.equal(failed.length, 1)
      assert.equal((JSON.parse(failed[0]) as { path: string }).path, '/e/')
      assert.ok(!failed[0].includes('data='), failed[0])
    } finally {
      await server.close()
    }
  })
})
