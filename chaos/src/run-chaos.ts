import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import Redis from 'ioredis'
import { Pool } from 'pg'
import { createPluginJobsQueue } from '@plugin-server/core'
import { migrate } from '@plugin-server/db'
import { freePort, startPostgresServer, startRedisServer, waitFor } from '@plugin-server/dev-services'
import { Canaries } from './canaries'
import { ChaosFleet } from './chaos-fleet'
import { setUpTeams } from './chaos-teams'
import { brokenInvariants } from './broken-invariants'
import { Discrepancy, SAMPLE } from './discrepancy'
import { checkEvents } from './event-checks'
import { runFaultPlan } from './fault-plan'
import { exposeFaults, redisLossWindows, serviceOutages } from './faults'
import { checkJobs, FailedJob } from './job-checks'
import { eventKey, missing } from './keys'
import { startLoad } from './load'
import { locateInRedis } from './locate-in-redis'
import type { ChaosReport } from './report'
import { checkSchedule } from './schedule-check'
import { settle } from './settle'
import { ChaosSink } from './sink'
import { readStoredEvents } from './stored-events'

export type { ChaosReport } from './report'

export interface ChaosOptions {
  seconds: number
  eventsPerSecond: number
  /** Share of export requests the sink answers with 500. */
  exportFailureRate: number
  /**
   * Every worker's lock (lease) duration; 3 s by default. A lock is renewed every half of it, so on
   * a machine too busy to renew in time a run is taken over while it still runs (an overlap the
   * run would report); the test stretches it with the machine's load.
   */
  leaseMs?: number
  log: (line: string) => void
}

const TIME_SCALE = 20
const DEFAULT_LEASE_MS = 3000
const SCHEDULE_INTERVAL_MS = 60_000 / TIME_SCALE
const QUEUE_PREFIX = '{chaos}'
const TEAMS = 2

/** The whole fleet under load while capture, workers, Redis and Postgres are killed the hard way. */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const { log } = options
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plugin-server-chaos-'))
  const logDir = path.join(dir, 'logs')
  fs.mkdirSync(logDir)
  const redisServer = await startRedisServer({ appendOnly: true })
  const postgresServer = await startPostgresServer({})
  const sink = new ChaosSink(options.exportFailureRate)
  await sink.start()
  const pool = new Pool({ connectionString: postgresServer.url, max: 4 })
  pool.on('error', () => undefined)
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null })
  redis.on('error', () => undefined)
  const fleet = new ChaosFleet(
    {
      REDIS_URL: redisServer.url,
      DATABASE_URL: postgresServer.url,
      QUEUE_PREFIX,
      CAPTURE_PORT: String(await freePort()),
      CAPTURE_HOST: '127.0.0.1',
      LOG_FORMAT: 'json',
      TIME_SCALE: String(TIME_SCALE),
      INGEST_LOCK_DURATION_MS: String(leaseMs),
      EXPORT_LOCK_DURATION_MS: String(leaseMs),
      SCHEDULER_LOCK_DURATION_MS: String(leaseMs),
      JOB_WORKER_LOCK_DURATION_MS: String(leaseMs),
      EXPORT_BUFFER_MAX_AGE_MS: '1000',
      PLUGIN_FETCH_ALLOWED_HOSTS: '127.0.0.1',
      PLUGIN_RECONCILE_INTERVAL_MS: '5000',
    },
    logDir,
  )
  try {
    await migrate(pool)
    const teams = await setUpTeams(pool, redis, QUEUE_PREFIX, sink.url, TEAMS)
    fleet.startAll()
    const captureUrl = `http://127.0.0.1:${fleet.captureEnvPort()}`
    await waitFor('capture', async () => (await fetch(`${captureUrl}/_health`)).ok, 60_000)
    log(`fleet up (logs in ${logDir}); load ${options.eventsPerSecond} events/s over ${TEAMS} teams for ${options.seconds} s`)

    const canaries = new Canaries(captureUrl, teams[0], pool)
    const load = startLoad(captureUrl, teams, options.eventsPerSecond)
    const startedAt = Date.now()
    const faults = await runFaultPlan(options.seconds, {
      fleet,
      redis: redisServer,
      postgres: postgresServer,
      inFlight: () => load.inFlight,
      recovered: (name) => canaries.stored(name),
      log,
    })
    await load.stop()
    await fleet.restartKilled()
    log('load stopped; waiting for the fleet to catch up')
    const settled = await settle(
      async () => {
        const stored = await readStoredEvents(pool)
        const jobsDue = [...stored.keys()].filter((key) => load.sent.get(key)?.withJob && !sink.jobs.has(key))
        const done = missing(load.acked.keys(), stored).length === 0 && missing(stored.keys(), sink.exported).length === 0 && jobsDue.length === 0
        return { done, progress: stored.size + sink.exported.size + sink.jobs.size }
      },
      { quietMs: 30_000, timeoutMs: 300_000, intervalMs: 500 },
    )
    if (!settled) log('the fleet stopped making progress before every check held; checking what there is')

    const stored = await readStoredEvents(pool)
    const events = checkEvents({
      load,
      canaries: canaries.keys,
      stored,
      exported: sink.exported,
      exportedProcessedBy: sink.exportedProcessedBy,
      teams,
      redisWindows: redisLossWindows(faults),
    })
    const jobs = checkJobs(load, stored, sink.jobs, await failedJobs(redis))
    const schedule = checkSchedule([...sink.runs.values()], SCHEDULE_INTERVAL_MS, leaseMs, serviceOutages(faults))
    const discrepancies = [...events.discrepancies, ...jobs.discrepancies]
    await locateBroken(redis, events.discrepancies)
    const failures = brokenInvariants({ discrepancies, schedule, configs: TEAMS, faults, exits: fleet.unexpectedExits() })
    return {
      events: events.figures,
      jobs: jobs.figures,
      schedule,
      startedAt,
      faults: exposeFaults(faults, load.acked, stored),
      failedRequests: load.failedRequests,
      refusedExports: sink.refusedExports,
      maxRecoveryMs: Math.max(0, ...faults.map((f) => (f.recoveredAt === null ? 0 : f.recoveredAt - f.at))),
      discrepancies,
      failures,
      logDir,
    }
  } finally {
    await fleet.stop()
    redis.disconnect()
    await pool.end()
    await sink.close()
    await redisServer.stop()
    await postgresServer.stop()
  }
}

/** Names, for the first ids of each broken event comparison, where in Redis the event still is. */
async function locateBroken(redis: Redis, discrepancies: Discrepancy[]): Promise<void> {
  for (const d of discrepancies.filter((d) => d.breaks && d.ids.length > 0)) {
    const sample = d.ids.slice(0, SAMPLE)
    const byUuid = await locateInRedis(
      redis,
      QUEUE_PREFIX,
      sample.map((key) => key.slice(key.indexOf(':') + 1)),
    )
    d.whereabouts = new Map(sample.map((key) => [key, byUuid.get(key.slice(key.indexOf(':') + 1)) ?? '']))
  }
}

async function failedJobs(redis: Redis): Promise<FailedJob[]> {
  const queue = createPluginJobsQueue(redis, { queuePrefix: QUEUE_PREFIX })
  try {
    return (await queue.getFailed()).map((job) => {
      const payload = job.data.payload as { team_id?: number; uuid?: string } | null
      const key = payload?.team_id !== undefined && payload.uuid !== undefined ? eventKey(payload.team_id, payload.uuid) : `job ${job.id}`
      return { key, reason: job.failedReason }
    })
  } finally {
    await queue.close()
  }
}
