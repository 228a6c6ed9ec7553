import { Pool } from 'pg'
import { migrate } from '@plugin-server/db'
import { LocalServer, startPostgresServer, startRedisServer } from '@plugin-server/dev-services'

export interface BenchServices {
  redisUrl: string
  databaseUrl: string
  stop: () => Promise<void>
}

/** REDIS_URL / DATABASE_URL when set, otherwise local servers for the length of the run (fsync on, like production). */
export async function benchServices(): Promise<BenchServices> {
  const started: LocalServer[] = []
  const redisUrl = process.env.REDIS_URL ?? started[started.push(await startRedisServer()) - 1].url
  const databaseUrl = process.env.DATABASE_URL ?? started[started.push(await startPostgresServer()) - 1].url
  const pool = new Pool({ connectionString: databaseUrl, max: 1 })
  await migrate(pool)
  await pool.end()
  return { redisUrl, databaseUrl, stop: async () => void (await Promise.all(started.map((s) => s.stop()))) }
}
