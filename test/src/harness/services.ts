import { startPostgresServer, startRedisServer } from '@plugin-server/dev-services'

export interface TestServices {
  redisUrl: string
  /** A URL to the server's maintenance database; tests create their own databases from it. */
  databaseUrl: string
  source: 'environment' | 'testcontainers' | 'local binaries'
  stop: () => Promise<void>
}

/**
 * Real services, in order of preference: URLs given by the environment, containers where a Docker
 * engine answers, otherwise local binaries started on free ports and removed afterwards.
 */
export async function provideServices(): Promise<TestServices> {
  const { REDIS_URL, DATABASE_URL } = process.env
  if (REDIS_URL && DATABASE_URL) {
    return { redisUrl: REDIS_URL, databaseUrl: DATABASE_URL, source: 'environment', stop: async () => {} }
  }
  if (await dockerAvailable()) return fromContainers()
  const problems: string[] = []
  const redis = await startRedisServer().catch((err: Error) => void problems.push(err.message))
  const postgres = await startPostgresServer({ fast: true }).catch((err: Error) => void problems.push(err.message))
  if (!redis || !postgres) {
    await redis?.stop()
    await postgres?.stop()
    throw new Error(
      `the tests need a real Redis and Postgres and none could be started:\n  ${problems.join('\n  ')}\n` +
        'Install them (Debian: apt-get install redis-server postgresql), start a Docker engine, or set REDIS_URL and DATABASE_URL.',
    )
  }
  return {
    redisUrl: redis.url,
    databaseUrl: postgres.url,
    source: 'local binaries',
    stop: async () => {
      await Promise.all([redis.stop(), postgres.stop()])
    },
  }
}

async function dockerAvailable(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers')
    await Promise.race([getContainerRuntimeClient(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 5000))])
    return true
  } catch {
    return false
  }
}

async function fromContainers(): Promise<TestServices> {
  const { GenericContainer, Wait } = await import('testcontainers')
  const [redis, postgres] = await Promise.all([
    new GenericContainer('redis:7-alpine').withExposedPorts(6379).start(),
    new GenericContainer('postgres:16-alpine')
      .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust' })
      .withCommand(['postgres', '-c', 'fsync=off', '-c', 'max_connections=400'])
      .withExposedPorts(5432)
      .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
      .start(),
  ])
  return {
    redisUrl: `redis://${redis.getHost()}:${redis.getMappedPort(6379)}`,
    databaseUrl: `postgres://postgres@${postgres.getHost()}:${postgres.getMappedPort(5432)}/postgres`,
    source: 'testcontainers',
    stop: async () => {
      await Promise.all([redis.stop(), postgres.stop()])
    },
  }
}
