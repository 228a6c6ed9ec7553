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

  it("drops a team's captures past PLUGIN_TEAM_CAPTURE_MB_PER_MINUTE until the next minute, says so once a minute, and leaves other teams theirs", async () => {
    const added: number[] = []
    const batcher = { add: async (events: IngestEvent[]) => void added.push(events[0].team_id), drain: async () => undefined } as unknown as EventBatcher
    let now = 1_000_000
    const capturer = new PluginCapturer(
      batcher,
      { maxDepth: 3, maxEventBytes: 100_000, teamBytesPerMinute: 10_000 },
      () => undefined,
      () => now,
    )
    const pad = 'x'.repeat(2_000)
    const capture = (teamId: number) => capturer.capture({ teamId, pluginName: 'p', pluginConfigId: teamId * 10 }, 'big', { pad }, 1)
    const loud = Array.from({ length: 8 }, () => capture(7))
    assert.deepEqual(
      loud.map((r) => r?.report ?? null),
      [null, null, null, null, true, false, false, false],
      'four events of about 2.3 KB fit 10 000 bytes; the first dropped is reported, the others not',
    )
    assert.match(loud[4]!.reason, /captured 0\.01 MB of events in this minute on this worker \(PLUGIN_TEAM_CAPTURE_MB_PER_MINUTE\)/)
    assert.equal(capture(8), null, "another team's captures are its own")
    now += 60_000
    assert.equal(capture(7), null, 'a new minute')
    assert.deepEqual(added, [7, 7, 7, 7, 8, 7])
  })
})
