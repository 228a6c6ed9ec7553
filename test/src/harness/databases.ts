import { randomBytes } from 'node:crypto'
import { Pool } from 'pg'
import { migrate } from '@plugin-server/db'

export const TEMPLATE_DATABASE = 'ps_test_template'

function withDatabase(url: string, database: string): string {
  const u = new URL(url)
  u.pathname = `/${database}`
  return u.toString()
}

async function admin<T>(fn: (pool: Pool) => Promise<T>): Promise<T> {
  const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 1 })
  try {
    return await fn(pool)
  } finally {
    await pool.end()
  }
}

/** Run once per test run: a migrated template that every test database is cloned from. */
export async function prepareTemplate(): Promise<void> {
  await admin(async (pool) => {
    await pool.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DATABASE}`)
    await pool.query(`CREATE DATABASE ${TEMPLATE_DATABASE}`)
  })
  const pool = new Pool({ connectionString: withDatabase(process.env.DATABASE_URL!, TEMPLATE_DATABASE), max: 1 })
  try {
    await migrate(pool)
  } finally {
    await pool.end()
  }
}

export interface TestDatabase {
  url: string
  pool: Pool
  drop: () => Promise<void>
}

/** A fresh, migrated database of its own, so tests never see each other's rows. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `ps_test_${randomBytes(6).toString('hex')}`
  await admin((pool) => pool.query(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DATABASE}`))
  const url = withDatabase(process.env.DATABASE_URL!, name)
  const pool = new Pool({ connectionString: url, max: 5 })
  // DROP DATABASE … WITH (FORCE) can reach a client the ended pool is still closing; that is expected.
  pool.on('error', () => undefined)
  return {
    url,
    pool,
    drop: async () => {
      await pool.end()
      await admin((p) => p.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
    },
  }
}

/** A queue prefix of its own (with a Redis Cluster hash tag, like production). */
export function testQueuePrefix(): string {
  return `{t${randomBytes(5).toString('hex')}}`
}
