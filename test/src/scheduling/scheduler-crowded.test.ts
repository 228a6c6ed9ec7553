import assert from 'node:assert/strict'
import { createTeam } from '@plugin-server/db'
import { createTestFleet, eventually, TestFleet } from '../harness/fleet'
import { enablePlugin, managementContext } from '../harness/plugins'
import type { FleetProcess } from '../harness/processes'
import { fastSchedulerEnv } from './scheduling-fixture'

const TIME_SCALE = 30
const MINUTE_MS = 60_000 / TIME_SCALE
const CONFIGS = 8
const ROOM = 4
const MINUTES = 6

const startsOf = (proc: FleetProcess, id: number, since: number) =>
  proc.lines.filter((l) => l.msg === 'scheduled task started' && l.plugin_config_id === id && Number(l.time) >= since).length

describe('scheduler: more configs than PLUGIN_MAX_LIVE_INSTANCES (8 configs, room for 4, a 2 s minute, child process)', function () {
  this.timeout(180_000)
  let fleet: TestFleet
  let management: ReturnType<typeof managementContext>

  before(async () => {
    fleet = await createTestFleet(fastSchedulerEnv(TIME_SCALE, 2000))
    management = managementContext(fleet.db.pool, fleet.env.QUEUE_PREFIX)
  })
  after(async () => {
    await management.close()
    await fleet.close()
  })

  it('reloads about the configs beyond its room each minute, not every config as evicting the least recently used one did', async () => {
    const configIds: number[] = []
    for (let i = 0; i < CONFIGS; i++) {
      const team = i === 0 ? fleet.team : await createTeam(fleet.db.pool, `crowded team ${i}`)
      configIds.push((await enablePlugin(management, team.id, 'scheduling-recorder')).id)
    }
    const scheduler = await fleet.start('scheduler', { PLUGIN_MAX_LIVE_INSTANCES: String(ROOM) })
    const warm = Date.now()
    await eventually(
      'every config ran twice',
      async () => configIds.map((id) => startsOf(scheduler, id, warm)),
      (counts) => counts.every((n) => n >= 2),
      60_000,
    )
    const since = Date.now()
    const evictions = () =>
      scheduler.lines.filter((l) => l.msg === 'plugin unloaded (room): idle, evicted to make room for another' && Number(l.time) >= since).length
    await eventually(
      `${MINUTES} minutes passed`,
      async () => Date.now() - since,
      (ms) => ms >= MINUTES * MINUTE_MS,
      60_000,
    )
    const minutes = (Date.now() - since) / MINUTE_MS
    // The least recently used config is always the one due next: that policy evicted 8 a minute here.
    // Ranking by next use reloads the 4 beyond the room, plus some: loads that overlap each make
    // room (the pool holds its cap), 5 to 6 a minute here; LRU reloads every config every minute.
    const perMinute = evictions() / minutes
    assert.ok(perMinute < CONFIGS - 1, `${evictions()} evictions in ${minutes.toFixed(1)} minutes: ${perMinute.toFixed(1)} a minute`)
    for (const id of configIds) {
      const runs = startsOf(scheduler, id, since)
      assert.ok(runs >= Math.floor(minutes) - 1, `config ${id} ran ${runs} times in ${minutes.toFixed(1)} minutes`)
    }
  })
})
