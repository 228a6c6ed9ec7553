import assert from 'node:assert/strict'
import { PluginRuntime, startPluginRuntime } from '@plugin-server/plugin-runtime'
import { BlackHoleRelay } from '../harness/black-hole-relay'
import { createTestDatabase, TestDatabase, testQueuePrefix } from '../harness/databases'
import { eventually } from '../harness/fleet'
import { testRoleContext } from '../harness/role-context'

/** The floor of a re-read's deadline (plugin-manager.ts), with the reconcile interval below it. */
const READ_DEADLINE_MS = 10_000

describe('PluginManager while its Postgres connections do not answer', function () {
  this.timeout(90_000)
  let db: TestDatabase
  let relay: BlackHoleRelay
  let ctx: ReturnType<typeof testRoleContext>
  let runtime: PluginRuntime
  let closed: boolean

  beforeEach(async () => {
    db = await createTestDatabase()
    relay = new BlackHoleRelay(db.url)
    // No query timeout to speak of: the manager's own bounds are what is tested.
    ctx = testRoleContext('ingest-worker', {
      DATABASE_URL: await relay.listen(),
      QUEUE_PREFIX: testQueuePrefix(),
      PLUGIN_RECONCILE_INTERVAL_MS: '1000',
      PG_QUERY_TIMEOUT_MS: '600000',
    })
    runtime = await startPluginRuntime(ctx)
    closed = false
  })
  afterEach(async () => {
    // The queries left waiting fail now, so the logs flush and the pool ends.
    relay.swallowing = false
    relay.cut()
    if (!closed) await runtime.manager.close()
    await runtime.services.logs.close()
    await ctx.close()
    await relay.close()
    await db.drop()
  })

  const readiness = async () => {
    try {
      for (const { check } of runtime.checks) await check()
      return 'ready'
    } catch (err) {
      return (err as Error).message
    }
  }

  it('fails a re-read that does not answer within its deadline, reports not ready, and reads again on the next refresh', async () => {
    relay.swallowing = true
    const started = Date.now()
    // Two 10 s bounds race here, both the role's own: the re-read's deadline, and the pool's connect
    // timeout when the background reconcile (every second) holds the idle connections in the black hole.
    const expected = [`plugin configs not read within ${READ_DEADLINE_MS} ms`, 'Connection terminated due to connection timeout']
    let message = ''
    await assert.rejects(runtime.manager.refresh(), (err: Error) => expected.includes((message = err.message)))
    assert.ok(Date.now() - started < READ_DEADLINE_MS * 3)
    assert.equal(await readiness(), `plugin configs could not be read: ${message}`)
    relay.swallowing = false
    // The read that timed out still waits on its connection: the refreshes after it read on another one.
    await eventually(
      'ready again',
      async () => (await runtime.manager.refresh().catch(() => undefined), readiness()),
      (r) => r === 'ready',
    )
  })

  it('closes without waiting for a re-read that does not answer', async () => {
    relay.swallowing = true
    void runtime.manager.refresh().catch(() => undefined)
    const started = Date.now()
    closed = true
    await runtime.manager.close()
    assert.ok(Date.now() - started < READ_DEADLINE_MS / 2, `close took ${Date.now() - started} ms`)
  })
})
