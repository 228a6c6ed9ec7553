import assert from 'node:assert/strict'
import Redis from 'ioredis'
import pino from 'pino'
import { readSetupState, SETUP_STATE_REFRESH_MS, SETUP_STATE_STALE_MS, SetupStatePublisher, setupStateKey } from '@plugin-server/plugin-runtime'
import { eventually } from '../harness/fleet'
import { testQueuePrefix } from '../harness/databases'

const CONFIG = 7

describe('SetupStatePublisher (libs/plugin-runtime)', function () {
  this.timeout(30_000)
  let redis: Redis
  let prefix: string
  beforeEach(() => {
    redis = new Redis(process.env.REDIS_URL!)
    prefix = testQueuePrefix()
  })
  afterEach(() => redis.quit())

  it("drops, at its refresh, the fields of processes that stopped writing theirs (killed workers), and keeps live ones'", async () => {
    const key = setupStateKey(prefix, CONFIG)
    const started = Date.now()
    const state = (seenAt: number): string => JSON.stringify({ status: 'ready', attempts: 1, nextAttemptAt: null, lastError: null, updatedAt: seenAt, seenAt })
    // Three workers that were killed long ago, one still live (it wrote recently), one field that is not a state.
    await redis.hset(key, 'killed-1', state(started - SETUP_STATE_STALE_MS - 1), 'killed-2', state(started - SETUP_STATE_STALE_MS - 1))
    await redis.hset(key, 'killed-3', state(started - 2 * SETUP_STATE_STALE_MS), 'live', state(started), 'garbage', '{')
    const publisher = new SetupStatePublisher(redis, prefix, pino({ level: 'silent' }))
    publisher.publish(CONFIG, { status: 'ready', attempts: 1, nextAttemptAt: null, lastError: null })
    await eventually(
      'its own state to be written',
      () => redis.hlen(key),
      (n) => n === 6,
    )

    // Its next refresh is due a refresh interval later; by then the live worker has written again.
    const later = Date.now() + SETUP_STATE_REFRESH_MS
    await redis.hset(key, 'live', state(later))
    publisher.refresh(later)
    await publisher.close()

    assert.deepEqual((await redis.hkeys(key)).sort(), ['live'])
    assert.equal((await readSetupState(redis, prefix, CONFIG)).processes, 1)
  })
})
