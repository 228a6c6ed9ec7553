import assert from 'node:assert/strict'
import type { Socket } from 'node:net'
import { Pool } from 'pg'
import { inTransaction, migrate } from '@plugin-server/db'
import { createTestDatabase, TestDatabase } from '../harness/databases'
import { eventually } from '../harness/fleet'

/** Ends the backends of `pool`'s clients from another connection, as a Postgres restart or failover would. */
async function terminate(admin: Pool, applicationName: string): Promise<number> {
  const { rowCount } = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [applicationName])
  return rowCount ?? 0
}

describe('inTransaction and migrate (libs/db): a connection lost while a client is checked out', function () {
  this.timeout(60_000)
  let db: TestDatabase
  let uncaught: Error[]
  const record = (err: Error): void => void uncaught.push(err)
  let mochaHandlers: NodeJS.UncaughtExceptionListener[]

  beforeEach(async () => {
    db = await createTestDatabase()
    uncaught = []
    // Mocha fails the run on an uncaught exception; the test counts them instead, as a role would die of one.
    mochaHandlers = process.listeners('uncaughtException')
    process.removeAllListeners('uncaughtException')
    process.on('uncaughtException', record)
  })
  afterEach(async () => {
    process.off('uncaughtException', record)
    for (const handler of mochaHandlers) process.on('uncaughtException', handler)
    await db.drop()
  })

  it('fails, without an uncaught error, a transaction whose connection is lost mid-way, and pools a fresh client after it', async () => {
    const pool = new Pool({ connectionString: db.url, max: 1, application_name: 'in-transaction-victim' })
    pool.on('error', () => undefined)
    // An object around the promise: resolving with a promise itself would wait for it.
    let checkedOut!: (socket: { closed: Promise<void> }) => void
    const inside = new Promise<{ closed: Promise<void> }>((resolve) => (checkedOut = resolve))
    let goOn!: () => void
    const lost = new Promise<void>((resolve) => (goOn = resolve))
    const transaction = inTransaction(pool, async (client) => {
      await client.query('SELECT 1')
      // pg's socket (not public): its 'close' comes after the backend's goodbye was read and emitted as 'error'.
      const socket = (client as unknown as { connection: { stream: Socket } }).connection.stream
      checkedOut({ closed: new Promise((resolve) => socket.once('close', () => resolve())) })
      await lost
      await client.query('SELECT 2')
    })

    const socket = await inside
    assert.equal(await terminate(db.pool, 'in-transaction-victim'), 1)
    await socket.closed
    goOn()

    await assert.rejects(transaction)
    assert.deepEqual(
      uncaught.map((e) => e.message),
      [],
    )
    assert.equal((await inTransaction(pool, (client) => client.query<{ n: number }>('SELECT 3 AS n'))).rows[0].n, 3)
    await pool.end()
  })

  it('migrate answers a lost connection with an error, not an uncaught one', async () => {
    const pool = new Pool({ connectionString: db.url, max: 1, application_name: 'migrate-victim' })
    pool.on('error', () => undefined)
    let lockHeld!: () => void
    const holding = new Promise<void>((resolve) => (lockHeld = resolve))
    // Its outcome is taken at once: the migration fails while the test is still ending its backend.
    const failed = migrate(pool, [
      {
        id: '9999-slow',
        get sql() {
          lockHeld()
          return 'SELECT pg_sleep(30)'
        },
      },
    ]).then(
      () => null,
      (err: Error) => err,
    )
    await holding
    await eventually(
      'the migration to be running',
      () => terminate(db.pool, 'migrate-victim'),
      (n) => n === 1,
    )

    assert.ok((await failed) instanceof Error, 'the migration fails')
    assert.deepEqual(
      uncaught.map((e) => e.message),
      [],
    )
    await pool.end()
  })
})
