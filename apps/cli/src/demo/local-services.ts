import { LocalServer, startPostgresServer, startRedisServer } from '@plugin-server/dev-services'

export interface DemoServices {
  redisUrl: string
  databaseUrl: string
  started: string[]
  stop: () => Promise<void>
}

/** Uses REDIS_URL / DATABASE_URL when given, otherwise starts throwaway local servers. */
export async function demoServices(log: (line: string) => void): Promise<DemoServices> {
  const started: LocalServer[] = []
  const names: string[] = []
  let redisUrl = process.env.REDIS_URL
  let databaseUrl = process.env.DATABASE_URL
  try {
    if (!redisUrl) {
      log('starting a local redis-server (AOF on) ...')
      const redis = await startRedisServer({ appendOnly: true })
      started.push(redis)
      names.push(`redis-server on ${redis.url}`)
      redisUrl = redis.url
    }
    if (!databaseUrl) {
      log('starting a local Postgres ...')
      const postgres = await startPostgresServer({ prefer: 'embedded' })
      started.push(postgres)
      names.push(`postgres on ${postgres.url} (data in ${postgres.dir})`)
      databaseUrl = postgres.url
    }
  } catch (err) {
    await Promise.all(started.map((s) => s.stop()))
    throw err
  }
  if (!redisUrl || !databaseUrl) throw new Error('no Redis or Postgres URL')
  return { redisUrl, databaseUrl, started: names, stop: async () => void (await Promise.all(started.map((s) => s.stop()))) }
}
