import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import Redis from 'ioredis'
import pino from 'pino'
import { Pool } from 'pg'
import { createPluginJobsQueue } from '@plugin-server/core'
import { createTeam, migrate } from '@plugin-server/db'
import { freePort, startPostgresServer, startRedisServer, waitFor } from '@plugin-server/dev-services'
import { createConfig, installPluginFromPath } from '@plugin-server/meta'
import { ChaosFleet } from './chaos-fleet'
import { checkSchedule, missing, ScheduleCheck } from './checks'
import { startLoad } from './load'
import { ChaosSink } from './sink'

export interface ChaosOptions {
  seconds: number
  eventsPerSecond: number
  /** Share of export requests the sink answers with 500. */
  exportFailureRate: number
  log: (line: string) => void
}

export interface ChaosReport {
  sent: number
  acked: number
  stored: number
  exported: number
  exportDuplicates: number
  jobsExpected: number
  jobsRan: number
  jobsFailed: string[]
  schedule: ScheduleCheck
  kills: number
  restarts: number
  maxRecoveryMs: number
  logDir: string
  failures: string[]
}

const TIME_SCALE = 20
const LEASE_MS = 3000
const SCHEDULE_INTERVAL_MS = 60_000 / TIME_SCALE

/** The whole fleet under load while processes are killed and Redis and Postgres restart. */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const { log } = options
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
      QUEUE_PREFIX: '{chaos}',
      CAPTURE_PORT: String(await freePort()),
      CAPTURE_HOST: '127.0.0.1',
      LOG_FORMAT: 'json',
      TIME_SCALE: String(TIME_SCALE),
      INGEST_LOCK_DURATION_MS: String(LEASE_MS),
      EXPORT_LOCK_DURATION_MS: String(LEASE_MS),
      SCHEDULER_LOCK_DURATION_MS: String(LEASE_MS),
      JOB_WORKER_LOCK_DURATION_MS: String(LEASE_MS),
      EXPORT_BUFFER_MAX_AGE_MS: '1000',
      PLUGIN_FETCH_ALLOWED_HOSTS: '127.0.0.1',
      PLUGIN_RECONCILE_INTERVAL_MS: '5000',
    },
    logDir,
  )
  const outages: { from: number; to: number }[] = []
  let restarts = 0
  let maxRecoveryMs = 0
  try {
    await migrate(pool)
    const team = await createTeam(pool, 'chaos')
    const management = { pool, redis, queuePrefix: '{chaos}', logger: pino({ level: 'silent' }) }
    const installed = await installPluginFromPath(management, path.resolve(__dirname, '../fixtures/chaos-plugin'))
    await createConfig(management, { teamId: team.id, plugin: installed.plugin.id, enabled: true, config: { sinkUrl: sink.url, taskMs: '400' } })
    fleet.startAll()
    const captureUrl = `http://127.0.0.1:${fleet.captureEnvPort()}`
    await waitFor('capture', async () => (await fetch(`${captureUrl}/_health`)).ok, 60_000)
    log(`fleet up (logs in ${logDir}); load ${options.eventsPerSecond} events/s for ${options.seconds} s`)

    const load = startLoad(captureUrl, team.api_token, options.eventsPerSecond)
    const started = Date.now()
    const at = (share: number) => started + share * options.seconds * 1000
    const disrupt = async (name: string, restart: () => Promise<void>) => {
      const from = Date.now()
      log(`restarting ${name}`)
      await restart()
      restarts++
      const recovered = await canaryStored(captureUrl, team.api_token, pool, name)
      outages.push({ from, to: recovered })
      maxRecoveryMs = Math.max(maxRecoveryMs, recovered - from)
      log(`${name} back; pipeline recovered ${recovered - from} ms after the restart began`)
    }
    let redisDone = false
    let postgresDone = false
    while (Date.now() < at(1)) {
      await new Promise((r) => setTimeout(r, Math.max(1000, (options.seconds * 1000) / 12)))
      if (!redisDone && Date.now() > at(0.35)) await disrupt('redis', () => redisServer.restart()).then(() => (redisDone = true))
      else if (!postgresDone && Date.now() > at(0.65)) await disrupt('postgres', () => postgresServer.restart()).then(() => (postgresDone = true))
      else if (Date.now() < at(0.95)) await fleet.killRandomWorker(500 + Math.random() * 1500, log)
    }
    log('load stopped; waiting for the fleet to catch up')
    await load.stop()
    const stored = async () => new Set((await pool.query<{ uuid: string }>(`SELECT uuid FROM events WHERE event = 'chaos event'`)).rows.map((r) => r.uuid))
    await waitFor('acknowledged events stored', async () => missing(load.acked, await stored()).length === 0, 180_000).catch(() => undefined)
    const storedUuids = await stored()
    await waitFor(
      'exports and jobs',
      async () =>
        missing(storedUuids, sink.exported).length === 0 &&
        missing(
          [...load.withJob].filter((u) => storedUuids.has(u)),
          sink.jobs,
        ).length === 0,
      180_000,
    ).catch(() => undefined)

    const jobsQueue = createPluginJobsQueue(redis, { queuePrefix: '{chaos}' })
    const failedJobs = (await jobsQueue.getFailed()).map((j) => `${j.data.name}(${JSON.stringify(j.data.payload)}): ${j.failedReason}`)
    await jobsQueue.close()
    const expectedJobs = [...load.withJob].filter((u) => storedUuids.has(u))
    const report: ChaosReport = {
      sent: load.sent.size,
      acked: load.acked.size,
      stored: storedUuids.size,
      exported: [...storedUuids].filter((u) => sink.exported.has(u)).length,
      exportDuplicates: [...sink.exported.values()].filter((n) => n > 1).length,
      jobsExpected: expectedJobs.length,
      jobsRan: expectedJobs.filter((u) => sink.jobs.has(u)).length,
      jobsFailed: failedJobs,
      schedule: checkSchedule([...sink.runs.values()], SCHEDULE_INTERVAL_MS, LEASE_MS, outages),
      kills: fleet.kills,
      restarts,
      maxRecoveryMs,
      logDir,
      failures: [],
    }
    const lost = missing(load.acked, storedUuids)
    if (lost.length > 0) report.failures.push(`${lost.length} acknowledged events not stored (e.g. ${lost.slice(0, 3).join(', ')})`)
    const notExported = missing(storedUuids, sink.exported)
    if (notExported.length > 0) report.failures.push(`${notExported.length} stored events never exported`)
    const jobsMissing = expectedJobs.length - report.jobsRan - failedJobs.length
    if (jobsMissing > 0) report.failures.push(`${jobsMissing} enqueued jobs neither ran nor failed with a reason`)
    if (report.schedule.overlaps > 0) report.failures.push(`${report.schedule.overlaps} overlapping scheduled runs`)
    if (report.schedule.skips > 0) report.failures.push(`${report.schedule.skips} scheduled runs late by more than one interval plus the lease`)
    if (report.schedule.runs < 2) report.failures.push(`only ${report.schedule.runs} scheduled runs`)
    const exits = fleet.unexpectedExits()
    if (exits.length > 0) report.failures.push(`processes exited without being killed: ${exits.join('; ')}`)
    return report
  } finally {
    await fleet.stop()
    redis.disconnect()
    await pool.end()
    await sink.close()
    await redisServer.stop()
    await postgresServer.stop()
  }
}

/** Sends one event until capture takes it, then waits for it in Postgres: the end of an outage. */
async function canaryStored(captureUrl: string, token: string, pool: Pool, name: string): Promise<number> {
  const uuid = crypto.randomUUID()
  const body = JSON.stringify({ api_key: token, batch: [{ uuid, event: 'chaos canary', distinct_id: name, properties: {} }] })
  await waitFor('canary accepted', async () => (await fetch(`${captureUrl}/batch`, { method: 'POST', body }).catch(() => null))?.status === 200, 120_000)
  await waitFor('canary stored', async () => (await pool.query('SELECT 1 FROM events WHERE uuid = $1', [uuid])).rows.length === 1, 120_000)
  return Date.now()
}
