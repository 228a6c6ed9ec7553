import assert from 'node:assert/strict'
import pino from 'pino'
import type { PoolClient } from 'pg'
import { Registry } from 'prom-client'
import { createPool, Pool, registerPostgresPoolMetrics } from '@plugin-server/core'
import { createTestDatabase, TestDatabase } from '../harness/databases'

describe('Postgres pool metrics', () => {
  let db: TestDatabase
  let pool: Pool | null = null
  const held: PoolClient[] = []

  before(async () => {
    db = await createTestDatabase()
  })
  after(async () => {
    held.splice(0).forEach((client) => client.release())
    await pool?.end()
    await db.drop()
  })

  it('reports clients in use, idle and waiting against PG_POOL_SIZE, and 0 open before the pool exists', async () => {
    const registry = new Registry()
    registerPostgresPoolMetrics(registry, () => pool, 2)
    const sample = async (name: string) => {
      const text = await registry.metrics()
      return Object.fromEntries([...text.matchAll(new RegExp(`^${name}(?:\\{state="(\\w+)"\\})? (\\S+)$`, 'gm'))].map((m) => [m[1] ?? 'value', Number(m[2])]))
    }
    assert.deepEqual(await sample('postgres_pool_clients'), { busy: 0, idle: 0 })
    assert.deepEqual(await sample('postgres_pool_max'), { value: 2 })

    pool = createPool(db.url, 2, pino({ level: 'silent' }))
    held.push(await pool.connect(), await pool.connect())
    // A third query waits for one of the two: what running out of connections looks like.
    const waiting = pool.query('SELECT 1')
    assert.deepEqual(await sample('postgres_pool_clients'), { busy: 2, idle: 0 })
    assert.deepEqual(await sample('postgres_pool_waiting'), { value: 1 })

    held.pop()!.release()
    await waiting
    assert.deepEqual(await sample('postgres_pool_waiting'), { value: 0 })
    assert.deepEqual(await sample('postgres_pool_clients'), { busy: 1, idle: 1 })
  })
})
