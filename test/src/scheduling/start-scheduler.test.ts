import assert from 'node:assert/strict'
import Redis from 'ioredis'
import { setConfigEnabled } from '@plugin-server/management'
import { taskSchedule } from '@plugin-server/scheduling'
import { createTestFleet, TestFleet } from '../harness/fleet'
import { enablePlugin, managementContext } from '../harness/plugins'
import type { FleetProcess } from '../harness/processes'
import { bound } from '../harness/wait'
import { dueOf, fastSchedulerEnv, overlaps, recordedRuns, sleep } from './scheduling-fixture'

const TIME_SCALE = 30
const INTERVAL = 60_000 / TIME_SCALE
const LEASE = 2000
const RUN_MS = 1.5 * INTERVAL

describe('scheduler: three replicas, one runEveryMinute taking 1.5 intervals (child processes)', function () {
  this.timeout(150_000)
  let fleet: TestFleet
  let schedulers: FleetProcess[]
  let redis: Redis
  let management: ReturnType<typeof managementContext>
  let configId: number
  let pluginId: number

  const runs = () => recordedRuns(redis, fleet.env.QUEUE_PREFIX, pluginId, fleet.team.id)
  const schedule = () => taskSchedule(configId, 'runEveryMinute', TIME_SCALE)

  const waitForRuns = async (count: number, after = 0) => {
    for (;;) {
      const recorded = await runs()
      if (recorded.runs.filter((r) => r.start > after).length >= count) return recorded
      await sleep(200)
    }
  }

  before(async () => {
    fleet = await createTestFleet({ ...fastSchedulerEnv(TIME_SCALE, LEASE), PLUGIN_TIMEOUT_MS: '20000' })
    redis = new Redis(process.env.REDIS_URL!)
    management = managementContext(fleet.db.pool, fleet.env.QUEUE_PREFIX)
    schedulers = await Promise.all([1, 2, 3].map(() => fleet.start('scheduler')))
    // Enabled after the replicas started: the chain comes from the reload message, not from start-up.
    const config = await enablePlugin(management, fleet.team.id, 'scheduling-recorder', { durationMs: String(RUN_MS) })
    configId = config.id
    pluginId = config.plugin_id
  })
  after(async () => {
    redis.disconnect()
    await management.close()
    await fleet.close()
  })

  it('never overlaps two runs, and starts each at a due time of its phase, skipping the minute the run before was still going in', async () => {
    const { runs: done } = await waitForRuns(5)
    assert.deepEqual(overlaps(done), [])
    // The first run is the new chain's, at once; each run overruns its next due time, so the one after it waits
    // for the due time after that, as PostHog's cron skipped a minute whose run was still going on.
    const steady = done.slice(1)
    const late = steady.map((r) => r.start - dueOf(schedule(), r.start))
    // How late a run may start follows the machine's load; early is never allowed.
    assert.ok(
      late.every((ms) => ms >= -20 && ms <= bound(700)),
      `runs started ${late.join(', ')} ms after their due times`,
    )
    const periods = steady.map((r) => Math.floor(r.start / INTERVAL))
    assert.deepEqual(
      periods.slice(1).map((p, i) => p - periods[i]),
      periods.slice(1).map(() => 2),
      `minutes of the runs: ${periods.join(', ')}`,
    )
  })

  it('runs again on another replica when the replica running the task is SIGKILLed, skipping nothing', async () => {
    const since = Date.now()
    const started = await Promise.race(
      schedulers.map(async (proc) => {
        await proc.waitForLog((l) => l.msg === 'scheduled task started' && l.plugin_config_id === configId && Number(l.time) >= since, 30_000)
        return proc
      }),
    )
    await sleep(300)
    const killedAt = Date.now()
    await started.kill('SIGKILL')
    const survivors = schedulers.filter((p) => p !== started)
    const { starts } = await waitForRuns(0)
    const takeover = await (async () => {
      for (;;) {
        const next = (await runs()).starts.find((s) => s > killedAt)
        if (next) return next
        if (Date.now() - killedAt > INTERVAL + LEASE + 5000) return null
        await sleep(100)
      }
    })()
    assert.ok(takeover, `no run started after the kill; starts: ${JSON.stringify(starts)}`)
    assert.ok(
      takeover - killedAt <= INTERVAL + LEASE + 1000,
      `next run ${takeover - killedAt} ms after the kill, expected ≤ interval + lease (${INTERVAL + LEASE} ms)`,
    )
    // The run is seen in Postgres; its log line may still be on its way through the pipe.
    const tookOver = await Promise.any(
      survivors.map((p) => p.waitForLog((l) => l.msg === 'scheduled task taken over after the replica running it died')),
    ).catch(() => undefined)
    assert.ok(tookOver, 'a survivor took the run over')
    // The schedule goes on as before: the taken-over run ends, the next one starts at a due time of the chain's phase.
    const { runs: done } = await waitForRuns(2, killedAt)
    const [, next] = done.filter((r) => r.start > killedAt)
    assert.deepEqual(overlaps(done), [])
    const late = next.start - dueOf(schedule(), next.start)
    assert.ok(late >= -20 && late <= bound(700), `the run after the takeover started ${late} ms after its due time`)
  })

  it('stops the runs and removes the chain within seconds when the config is disabled', async () => {
    await setConfigEnabled(management, configId, false)
    const disabledAt = Date.now()
    const chainKey = `${fleet.env.QUEUE_PREFIX}:scheduled:de:chain-${configId}-runEveryMinute`
    for (;;) {
      if ((await redis.exists(chainKey)) === 0) break
      assert.ok(Date.now() - disabledAt < RUN_MS + 5000, 'the chain is still in Redis')
      await sleep(100)
    }
    await sleep(2 * INTERVAL + RUN_MS)
    const { starts } = await runs()
    const late = starts.filter((s) => s > disabledAt + 1000)
    assert.deepEqual(late, [], 'no run starts once the disable reached the replicas')
    assert.equal(await redis.scard(`${fleet.env.QUEUE_PREFIX}:scheduler:chains`), 0)
  })
})
