import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import Redis from 'ioredis'
import { Pool } from 'pg'
import { migrate } from '@plugin-server/db'
import { freePort, startPostgresServer, startRedisServer, waitFor } from '@plugin-server/dev-services'
import { missing } from '../../chaos/dist/keys'
import { startLoad } from '../../chaos/dist/load'
import { settle } from '../../chaos/dist/settle'
import { ChaosSink } from '../../chaos/dist/sink'
import { auditEvents, EventFigures, jobKeys, storedEvents } from './event-audit'
import { Prober } from './probes'
import type { SoakReport, SoakSettings } from './report'
import { OBSERVER_NAME, Sample, seriesOf, takeSample } from './sampler'
import { seriesTrends, trendFailures } from './series-trends'
import { SoakFleet } from './soak-fleet'
import { Tolerances, TOLERANCES } from './tolerances'
import { setUpSoakTeams, soakManagement, startReloads } from './soak-teams'

export type { SoakReport, SoakSettings } from './report'

export interface SoakOptions extends SoakSettings {
  /** Replaces the default tolerance of some kinds of series (a short run sees more of its warm-up growth). */
  tolerances?: Partial<Tolerances>
  log: (line: string) => void
}

const QUEUE_PREFIX = '{soak}'
const TEAMS = 2
/**
 * Health polls per process and endpoint that may fail: 1%, and at least 2 (a 2-core machine shared
 * with builds is not a quiet production node, and a short run polls each endpoint only ~90 times).
 */
const probeFailuresAllowed = (polls: number) => Math.max(2, polls * 0.01)

/**
 * The whole fleet under steady posthog-node load for `seconds`, its health endpoints polled every
 * second and one config reloaded every `reloadSeconds`; connection counts, per-process memory,
 * fds and isolates, and queue backlogs sampled every `sampleSeconds`. Passes when no series rises
 * beyond its tolerance after warm-up and every acknowledged event is stored and exported once.
 */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const { log } = options
  const settings: SoakSettings = {
    seconds: options.seconds,
    eventsPerSecond: options.eventsPerSecond,
    sampleSeconds: options.sampleSeconds,
    warmupSeconds: options.warmupSeconds,
    reloadSeconds: options.reloadSeconds,
    timeScale: options.timeScale,
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plugin-server-soak-'))
  const logDir = path.join(dir, 'logs')
  fs.mkdirSync(logDir)
  const redisServer = await startRedisServer({})
  const postgresServer = await startPostgresServer({})
  const sink = new ChaosSink(0)
  await sink.start()
  const pool = new Pool({ connectionString: postgresServer.url, max: 2, application_name: OBSERVER_NAME })
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null, connectionName: OBSERVER_NAME })
  const capturePort = await freePort()
  const capture = `http://127.0.0.1:${capturePort}`
  const fleet = new SoakFleet(
    {
      REDIS_URL: redisServer.url,
      DATABASE_URL: postgresServer.url,
      QUEUE_PREFIX,
      CAPTURE_PORT: String(capturePort),
      CAPTURE_HOST: '127.0.0.1',
      LOG_FORMAT: 'json',
      TIME_SCALE: String(options.timeScale),
      EXPORT_BUFFER_MAX_AGE_MS: '1000',
      PLUGIN_FETCH_ALLOWED_HOSTS: '127.0.0.1',
    },
    logDir,
  )
  const management = soakManagement(pool, redis, QUEUE_PREFIX)
  let prober: Prober | null = null
  try {
    await migrate(pool)
    const teams = await setUpSoakTeams(management, sink.url, TEAMS)
    await fleet.start()
    await waitFor('capture', async () => (await fetch(`${capture}/_health`)).ok, 60_000)
    log(`fleet up (logs in ${logDir}); ${options.eventsPerSecond} events/s over ${TEAMS} teams for ${options.seconds} s`)

    prober = new Prober(fleet.processes)
    prober.start()
    const reloads = startReloads(management, teams[0].configId, options.reloadSeconds * 1000)
    const load = startLoad(capture, teams, options.eventsPerSecond)
    const series = seriesOf(fleet.processes)
    const samples: Sample[] = []
    const startedAt = Date.now()
    for (let k = 0; k * options.sampleSeconds <= options.seconds; k++) {
      await sleepUntil(startedAt + k * options.sampleSeconds * 1000)
      // When the sample was taken, not when it was due: on a busy machine a round can start late.
      const sample = await takeSample(Math.round((Date.now() - startedAt) / 1000), redis, pool, fleet.processes)
      samples.push(sample)
      log(`+${sample.t} s: ${summary(sample)}`)
      if (fleet.exits().length > 0) break
    }
    await reloads.stop()
    await load.stop()
    await prober.stop()
    log('load stopped; waiting for every acknowledged event to be stored and exported')
    await settle(
      async () => {
        const stored = await storedEvents(pool)
        const done =
          missing(load.acked.keys(), stored).length === 0 &&
          missing(stored.keys(), sink.exported).length === 0 &&
          missing(jobKeys(load, stored), sink.jobs).length === 0
        return { done, progress: stored.size + sink.exported.size + sink.jobs.size }
      },
      { quietMs: 30_000, timeoutMs: 300_000, intervalMs: 500 },
    )
    const events = auditEvents(load, await storedEvents(pool), sink)
    const trends = seriesTrends(series, samples, options.warmupSeconds, { ...TOLERANCES, ...options.tolerances })
    const failures = [
      ...trendFailures(trends),
      ...eventFailures(events),
      ...prober.counts
        .filter((c) => c.failures > probeFailuresAllowed(c.polls))
        .map((c) => `${c.process} ${c.endpoint} failed ${c.failures} of ${c.polls} polls`),
      ...fleet.exits(),
      ...reloads.errors.map((e) => `config reload failed: ${e}`),
    ]
    return {
      settings,
      processes: fleet.processes.map((p) => ({ name: p.name, pid: p.pid })),
      series,
      samples,
      trends,
      events,
      probes: prober.counts,
      reloads: reloads.reloads(),
      failures,
      logDir,
    }
  } finally {
    await prober?.stop()
    await fleet.stop()
    redis.disconnect()
    await pool.end()
    await sink.close()
    await redisServer.stop()
    await postgresServer.stop()
  }
}

/**
 * The promise: every acknowledged event stored and exported, once. Events processEvent
 * could not run on and jobs that never ran are reported, not failed: a config reload disposes the
 * plugin under its calls in flight (see the README's Soak run section).
 */
function eventFailures(e: EventFigures): string[] {
  return [
    e.lost > 0 ? `${e.lost} acknowledged events were not stored` : '',
    e.storedDuplicates > 0 ? `${e.storedDuplicates} events were stored more than once` : '',
    e.notExported > 0 ? `${e.notExported} stored events were never exported` : '',
    e.exportDuplicates > 0 ? `${e.exportDuplicates} events were exported more than once` : '',
  ].filter((line) => line !== '')
}

function summary(s: Sample): string {
  const v = (name: string) => s.values[name] ?? '–'
  return `redis clients ${v('redis clients')}, postgres connections ${v('postgres connections')}, ingest backlog ${v('ingest backlog')}`
}

function sleepUntil(at: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())))
}
