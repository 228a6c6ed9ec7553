import assert from 'node:assert/strict'
import type { EventBatcher, IngestEvent } from '@plugin-server/core'
import { PluginCapturer } from '@plugin-server/plugin-runtime'

describe('events captured by plugins', () => {
  it('hands an event Redis did not take to the error line with its uuid, team and config', async () => {
    const refusing = { add: () => Promise.reject(new Error('Redis away')), drain: async () => undefined } as unknown as EventBatcher
    const failures: { team: number; config: number; event: IngestEvent; err: string }[] = []
    const capturer = new PluginCapturer(refusing, { maxDepth: 3, maxEventBytes: 100_000 }, (target, event, err) =>
      failures.push({ team: target.teamId, config: target.pluginConfigId, event, err: err.message }),
    )
    assert.equal(capturer.capture({ teamId: 7, pluginName: 'p', pluginConfigId: 70 }, 'made by a plugin', { a: 1 }, 1), null)
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(failures.length, 1)
    const [failure] = failures
    assert.deepEqual([failure.team, failure.config, failure.event.event, failure.err], [7, 70, 'made by a plugin', 'Redis away'])
    assert.match(failure.event.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  })
})
