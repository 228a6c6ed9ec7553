import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Command } from 'commander'
import { Pool } from 'pg'
import { parseSecretKeys } from '@plugin-server/core'
import { countEvents, countEventsByName, countTeamEventsNamed, createTeam, LatestEventRecord, migrate, readLatestEvent } from '@plugin-server/db'
import { freePort, waitFor } from '@plugin-server/dev-services'
import { SecretBox } from '@plugin-server/secrets'
import { demoServices } from '../demo/local-services'
import { nameConnectionVariable } from '../connection-errors'
import { DemoEnv, removeDemoEnvFile, shellExports, writeDemoEnvFile } from '../demo/demo-env'
import { DemoProcess, spawnRole, stopFleet } from '../demo/demo-fleet'
import { installExamplePlugins } from '../demo/example-plugins'
import { ExportSink, startExportSink } from '../demo/export-sink'
import { sendSampleEvents } from '../demo/sample-events'
import { nonNegativeInt, positiveInt } from './option-parsers'

interface DemoOptions {
  events: number
  duration: number
  ingestWorkers: number
  writeEnv: string
}

const log = (line: string) => process.stdout.write(`[demo] ${line}\n`)

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run a demo fleet on local Redis and Postgres (started for you unless REDIS_URL/DATABASE_URL are set) and send events through it')
    // Checked here: `Number('abc')` made --duration run until Ctrl-C and --ingest-workers start none.
    .option('--events <n>', 'events to send in the first burst', nonNegativeInt('--events'), 1000)
    .option('--duration <seconds>', 'keep events flowing this long, then stop (0: until Ctrl-C)', nonNegativeInt('--duration'), 0)
    .option('--ingest-workers <n>', 'ingest-worker processes', positiveInt('--ingest-workers'), 2)
    .option(
      '--write-env <path>',
      'where to write the environment another shell needs (mode 0600, removed on stop; not --env-file, which Node 20 takes for itself)',
      '.demo/env',
    )
    .action((options: DemoOptions) => runDemo(options))
}

/** The properties the example plugins set on a $pageview, as the demo prints them (null when absent, so the line keeps its shape). */
function sampleOf(e: LatestEventRecord | null): Record<string, unknown> | undefined {
  if (!e) return undefined
  const p = e.properties
  return {
    event: e.event,
    distinct_id: e.distinct_id,
    greeting: p.greeting ?? null,
    events_by_person: p.events_by_person ?? null,
    city: p.$geoip_city_name ?? null,
    country: p.$geoip_country_code ?? null,
    plugins_succeeded: p.$plugins_succeeded ?? null,
  }
}

async function runDemo(options: DemoOptions): Promise<void> {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plugin-server-demo-'))
  const logDir = path.join(workDir, 'logs')
  fs.mkdirSync(logDir)
  const services = await demoServices(log)
  const fleet: DemoProcess[] = []
  let sink: ExportSink | null = null
  const pool = new Pool({ connectionString: services.databaseUrl, max: 2 })
  // Postgres goes away while we stop it; an idle client's error then must not crash the demo.
  pool.on('error', (err) => {
    if (!stopping) log(`demo database connection failed: ${err.message}`)
  })
  let stopping = false
  const envFile = path.resolve(options.writeEnv)
  let shellEnv: DemoEnv | null = null
  const stop = async (code: number) => {
    if (stopping) return
    stopping = true
    log('stopping the fleet ...')
    if (shellEnv) removeDemoEnvFile(envFile, shellEnv)
    await stopFleet(fleet)
    await sink?.close()
    await pool.end().catch(() => undefined)
    await services.stop()
    log(`stopped; logs kept in ${logDir}`)
    process.exit(code)
  }
  process.once('SIGINT', () => void stop(0))
  process.once('SIGTERM', () => void stop(0))
  try {
    const migrated = await migrate(pool)
    log(`migrations applied: ${migrated.applied.join(', ') || 'none (up to date)'}`)
    const team = await createTeam(pool, `Demo team ${new Date().toISOString()}`)
    log(`team ${team.id} created with API token ${team.api_token}`)
    // Secret config values are encrypted at rest and need a key; the demo makes one for its run
    // unless one is given (keep your own if DATABASE_URL points at a database you keep).
    const secretsKeys = (process.env.PLUGIN_SECRETS_KEYS ||= `demo:${randomBytes(32).toString('base64')}`)
    sink = await startExportSink()
    const examples = { 'http-export': { url: sink.url, authToken: randomBytes(12).toString('hex') } }
    for (const line of await installExamplePlugins(pool, services.redisUrl, new SecretBox(parseSecretKeys(secretsKeys)), team.id, examples)) log(line)

    const capturePort = await freePort()
    const adminToken = randomBytes(18).toString('base64url')
    const env = {
      REDIS_URL: services.redisUrl,
      DATABASE_URL: services.databaseUrl,
      CAPTURE_PORT: String(capturePort),
      METRICS_PORT: '0',
      ADMIN_API_TOKEN: adminToken,
      // The demo's export destination is on this machine; plugins may not reach local addresses otherwise.
      PLUGIN_FETCH_ALLOWED_HOSTS: '127.0.0.1',
      EXPORT_BUFFER_MAX_AGE_MS: '2000',
    }
    fleet.push(spawnRole('capture', 0, env, logDir))
    for (let i = 0; i < Number(options.ingestWorkers); i++) fleet.push(spawnRole('ingest-worker', i, env, logDir))
    for (const role of ['exporter', 'scheduler', 'job-worker'] as const) fleet.push(spawnRole(role, 0, env, logDir))
    const host = `http://127.0.0.1:${capturePort}`
    await waitFor('capture', async () => (await fetch(`${host}/_health`)).ok, 30_000)
    log(`fleet up: ${fleet.map((p) => `${p.role} (pid ${p.child.pid})`).join(', ')}`)
    // Commands in another shell need the same database, Redis and keys; the secrets key above is
    // this run's own, so without it there `config create` could not seal what this fleet opens.
    shellEnv = {
      REDIS_URL: services.redisUrl,
      DATABASE_URL: services.databaseUrl,
      PLUGIN_SECRETS_KEYS: secretsKeys,
      ADMIN_API_TOKEN: adminToken,
      ...(process.env.QUEUE_PREFIX ? { QUEUE_PREFIX: process.env.QUEUE_PREFIX } : {}),
    }
    writeDemoEnvFile(envFile, shellEnv)
    log(`environment for another shell written to ${envFile} (mode 0600): source it there, or run`)
    for (const line of shellExports(shellEnv)) log(`  ${line}`)

    const burst = Number(options.events)
    const started = Date.now()
    await sendSampleEvents(host, team.api_token, burst)
    await waitFor('events in Postgres', async () => (await countEvents(pool, team.id)) >= burst, 60_000)
    const seconds = (Date.now() - started) / 1000
    log(`${burst} events sent with posthog-node and stored in Postgres in ${seconds.toFixed(2)} s`)
    for (const row of await countEventsByName(pool, team.id)) log(`  ${row.event.padEnd(12)} ${row.n}`)
    log(`a stored event, as the plugins left it (some properties): ${JSON.stringify(sampleOf(await readLatestEvent(pool, team.id, '$pageview')))}`)
    const exportable = await countTeamEventsNamed(pool, team.id, '$identify', { except: true })
    await waitFor('exported events', async () => sink!.received() >= exportable, 60_000).catch(() => undefined)
    log(`${sink.received()} of ${exportable} stored events (all but $identify) exported by "HTTP export (example)" to ${sink.url}`)

    log('where to look:')
    log(`  capture endpoint   ${host}/batch  (token ${team.api_token})`)
    log(`  admin web UI       ${host}/admin/  (sign in with the operator token ${adminToken})`)
    log(`  admin API          curl -H 'Authorization: Bearer ${adminToken}' ${host}/api/teams/${team.id}/configs`)
    log(`  events table       psql ${services.databaseUrl} -c 'SELECT * FROM events ORDER BY timestamp DESC LIMIT 5'`)
    log(`  process logs       ${logDir}`)
    for (const line of services.started) log(`  started            ${line}`)

    const duration = Number(options.duration)
    log(duration > 0 ? `events keep flowing for ${duration} s ...` : 'events keep flowing; Ctrl-C to stop')
    let sent = burst
    const until = duration > 0 ? Date.now() + duration * 1000 : Infinity
    while (!stopping && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 2000))
      await sendSampleEvents(host, team.api_token, 50, sent)
      sent += 50
      const heartbeats = await countTeamEventsNamed(pool, team.id, 'greeter heartbeat')
      log(`sent ${sent}, stored ${await countEvents(pool, team.id)}, exported ${sink.received()}, scheduled heartbeats ${heartbeats}`)
    }
    await stop(0)
  } catch (err) {
    if (stopping) return
    const named = nameConnectionVariable(err, { databaseUrl: services.databaseUrl, redisUrl: services.redisUrl })
    log(`demo failed: ${(named as Error).message}`)
    await stop(1)
  }
}
