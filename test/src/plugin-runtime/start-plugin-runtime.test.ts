import assert from 'node:assert/strict'
import { pluginRuntimeFixture, PluginRuntimeFixture } from '../harness/plugin-runtime-fixture'

describe('startPluginRuntime', () => {
  let fixture: PluginRuntimeFixture
  beforeEach(async () => (fixture = await pluginRuntimeFixture()))
  afterEach(async () => fixture.close())

  it("keeps BullMQ's Lua scripts off the autopipelined connection of plugins' cache calls, whose every flush copies them", async () => {
    const runtime = await fixture.start()
    // A BullMQ queue defines its scripts on its connection before its first command runs.
    assert.deepEqual(await runtime.services.jobs.getJobCounts('wait'), { wait: 0 })
    assert.deepEqual(Object.keys(runtime.services.redis.scriptsSet), [])
  })
})
