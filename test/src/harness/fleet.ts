import { freePort } from '@plugin-server/dev-services'
import { createTeam, Team } from '@plugin-server/db'
import { createTestDatabase, TestDatabase, testQueuePrefix } from './databases'
import { FleetProcess, startRole } from './processes'
import { TEST_SECURITY_ENV } from './security-env'
import { waitFor } from './wait'

/** A database, a queue prefix and a team of their own, with helpers to start roles against them. */
export interface TestFleet {
  db: TestDatabase
  team: Team
  env: Record<string, string>
  captureUrl: string
  start: (role: string, extraEnv?: Record<string, string>) => Promise<FleetProcess>
  close: () => Promise<void>
}

export async function createTestFleet(extraEnv: Record<string, string> = {}): Promise<TestFleet> {
  const db = await createTestDatabase()
  const team = await createTeam(db.pool, 'test team')
  const capturePort = await freePort()
  const env = {
    REDIS_URL: process.env.REDIS_URL!,
    DATABASE_URL: db.url,
    QUEUE_PREFIX: testQueuePrefix(),
    CAPTURE_PORT: String(capturePort),
    CAPTURE_HOST: '127.0.0.1',
    METRICS_PORT: '0',
    // No endpoints to drain from here: stopping capture need not wait (capture-shutdown-delay.test.ts sets one).
    CAPTURE_SHUTDOWN_DELAY_MS: '0',
    ...TEST_SECURITY_ENV,
    ...extraEnv,
  }
  const started: FleetProcess[] = []
  return {
    db,
    team,
    env,
    captureUrl: `http://127.0.0.1:${capturePort}`,
    start: async (role, more = {}) => {
      const proc = await startRole(role, { ...env, ...more })
      started.push(proc)
      return proc
    },
    close: async () => {
      await Promise.all(started.map((p) => p.kill('SIGTERM')))
      await db.drop()
    },
  }
}

/** waitFor under its older name: `timeoutMs` is stretched by the machine's load (see wait.ts). */
export async function eventually<T>(what: string, fn: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  return waitFor(what, fn, ok, { timeoutMs })
}
