import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import Redis from 'ioredis'
import { PostHog } from 'posthog-node'
import type { Job } from 'bullmq'
import { createQueue, type PluginJobData, QUEUES } from '@plugin-server/core'
import { createTeam, Team } from '@plugin-server/db'
import { createTestFleet, eventually, TestFleet } from '../harness/fleet'
import { enablePlugin, managementContext } from '../harness/plugins'
import type { FleetProcess } from '../harness/processes'

export const HEALTHY_FIXTURE = 'hostile-fleet-healthy'
export const HOSTILE_FIXTURE = 'hostile-fleet-modes'

export type HostileMode =
  | 'raw-socket'
  | 'type-parser'
  | 'pg-connect'
  | 'to-json-null'
  | 'event-null'
  | 'join-override'
  | 'brotli'
  | 'wasm'
  | 'busy-interval'
  | 'fan-out'
  | 'amplify'
  | 'sizes'
  | 'cache-fill'
  | 'job-fill'
  | 'log-flood'
  | 'storage-fill'
  | 'sync-loop'

export interface HostileTeam {
  team: Team
  /** The hostile plugin's config. */
  configId: number
  /** The healthy plugin's config on the same team, ahead of the hostile one, when asked for. */
  enricherId: number | null
}

export interface OutgoingEvent {
  event: string
  uuid?: string
  properties?: Record<string, unknown>
}

export interface StoredRow {
  uuid: string
  team_id: number
  event: string
  properties: Record<string, unknown>
  created_at: Date
}

export interface LogRow {
  plugin_config_id: number
  type: string
  source: string
  message: string
}

export interface ConfigRow {
  enabled: boolean
  disabled_reason: string | null
  error: { name?: string; message?: string } | null
}

/** How the other team's events must keep flowing next to a hostile plugin (well inside the 5 s deadline). */
export const NEIGHBOUR_BOUND_MS = 10_000

/** The deadline every hostile call runs under in these fleets; the other team's bounds sit well inside it. */
export const DEADLINES = { PLUGIN_TIMEOUT_MS: '5000', PLUGIN_PROCESS_EVENT_TIMEOUT_MS: '5000' }
/** Capture gathers the two teams' concurrent requests into one batch, so batches mix teams. */
export const MIXING = { CAPTURE_BATCH_MAX_WAIT_MS: '20' }
export const healthyEvents = (n: number, tag = 'neighbour') => Array.from({ length: n }, (_, i) => ({ event: 'e', properties: { tag, seq: i } }))

/**
 * A fleet of real processes with one healthy team (its enricher plugin) and hostile teams, each
 * running the hostile fixture in one mode. Configs are created before the processes start, so the
 * first event of every team already meets its plugins.
 */
export class HostileFleet {
  readonly processes: FleetProcess[] = []
  private readonly management: ReturnType<typeof managementContext>
  private readonly redis: Redis
  /** The healthy team's enricher config. */
  healthyConfigId = 0
  private hostilePluginId = 0

  private constructor(readonly fleet: TestFleet) {
    this.management = managementContext(fleet.db.pool, fleet.env.QUEUE_PREFIX)
    this.redis = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null })
  }

  static async create(env: Record<string, string>): Promise<HostileFleet> {
    const hf = new HostileFleet(await createTestFleet(env))
    const healthy = await enablePlugin(hf.management, hf.fleet.team.id, HEALTHY_FIXTURE)
    hf.healthyConfigId = healthy.id
    return hf
  }

  get healthyTeam(): Team {
    return this.fleet.team
  }

  get pool(): TestFleet['db']['pool'] {
    return this.fleet.db.pool
  }

  async addHostileTeam(mode: HostileMode, options: { target?: Record<string, unknown>; enricherFirst?: boolean } = {}): Promise<HostileTeam> {
    const team = await createTeam(this.pool, `hostile ${mode}`)
    let enricherId: number | null = null
    if (options.enricherFirst) enricherId = (await enablePlugin(this.management, team.id, HEALTHY_FIXTURE, {}, { order: 1 })).id
    const config: Record<string, string> = { mode }
    if (options.target) config.target = JSON.stringify(options.target)
    const hostile = await enablePlugin(this.management, team.id, HOSTILE_FIXTURE, config, { order: 2 })
    this.hostilePluginId = hostile.plugin_id
    return { team, configId: hostile.id, enricherId }
  }

  /** Another team with only the healthy plugin. */
  async addNeighbourTeam(name: string): Promise<{ team: Team; configId: number }> {
    const team = await createTeam(this.pool, name)
    return { team, configId: (await enablePlugin(this.management, team.id, HEALTHY_FIXTURE)).id }
  }

  async start(roles: string[], env: Record<string, string> = {}): Promise<void> {
    for (const role of roles) this.processes.push(await this.fleet.start(role, env))
  }

  worker(): FleetProcess {
    const found = this.processes.find((p) => p.name === 'start ingest-worker')
    assert.ok(found, 'the fleet runs an ingest-worker')
    return found
  }

  /** Through the real posthog-node client, as PostHog's SDK users send them. */
  async send(team: Team, events: OutgoingEvent[], options: { flushAt?: number } = {}): Promise<string[]> {
    const client = new PostHog(team.api_token, {
      host: this.fleet.captureUrl,
      flushAt: options.flushAt ?? 50,
      flushInterval: 10,
      fetchRetryCount: 3,
      fetchRetryDelay: 200,
    })
    const uuids = events.map((e) => e.uuid ?? randomUUID())
    events.forEach((e, i) => client.capture({ distinctId: 'person', event: e.event, uuid: uuids[i], properties: { ...e.properties, sent_ms: Date.now() } }))
    await client.shutdown()
    return uuids
  }

  async rows(teamId: number): Promise<StoredRow[]> {
    const { rows } = await this.pool.query<StoredRow>('SELECT uuid, team_id, event, properties, created_at FROM events WHERE team_id = $1', [teamId])
    return rows
  }

  /** Waits until every uuid is stored for the team; returns how long that took from `since`. */
  async waitStored(teamId: number, uuids: string[], since: number, timeoutMs = NEIGHBOUR_BOUND_MS): Promise<number> {
    await eventually(
      `events of team ${teamId} stored (missing count)`,
      async () => {
        const stored = new Set((await this.rows(teamId)).map((r) => r.uuid))
        return uuids.filter((u) => !stored.has(u)).length
      },
      (missing) => missing === 0,
      timeoutMs,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; processes: ${this.describeProcesses()}`)
    })
    return Date.now() - since
  }

  describeProcesses(): string {
    return this.processes
      .map((p) =>
        p.child.exitCode === null && p.child.signalCode === null
          ? `${p.name} running`
          : // A crash prints its reason (a V8 fatal error, a failed assertion) on stderr, not as a log line.
            `${p.name} exited (${p.child.exitCode ?? p.child.signalCode}; stderr: ${p.stderr.join('\n').slice(-1500) || 'empty'}; last log lines: ${JSON.stringify(p.lines.slice(-3))})`,
      )
      .join(', ')
      .concat(`; worker warnings: ${JSON.stringify(this.processes.flatMap((p) => p.lines.filter((l) => Number(l.level) >= 40)).slice(-5))}`)
  }

  async logs(configId: number): Promise<LogRow[]> {
    const { rows } = await this.pool.query<LogRow>(
      'SELECT plugin_config_id, type, source, message FROM plugin_log_entries WHERE plugin_config_id = $1 ORDER BY id',
      [configId],
    )
    return rows
  }

  async waitForLog(configId: number, pattern: RegExp, timeoutMs = 30_000): Promise<LogRow> {
    const rows = await eventually(
      `a log line of config ${configId} matching ${String(pattern)}`,
      () => this.logs(configId),
      (list) => list.some((r) => pattern.test(r.message)),
      timeoutMs,
    )
    return rows.find((r) => pattern.test(r.message))!
  }

  async configRow(configId: number): Promise<ConfigRow> {
    const { rows } = await this.pool.query<ConfigRow>('SELECT enabled, disabled_reason, error FROM plugin_configs WHERE id = $1', [configId])
    return rows[0]
  }

  /** The hostile config carries the blame (logs and last error under its id); the healthy one none. */
  async assertBlamed(hostileConfigId: number, pattern: RegExp): Promise<void> {
    await this.waitForLog(hostileConfigId, pattern)
    const hostile = await eventually(
      `config ${hostileConfigId} has its error recorded`,
      () => this.configRow(hostileConfigId),
      (row) => row.error !== null,
      10_000,
    )
    assert.ok(hostile.error)
    const healthyErrors = (await this.logs(this.healthyConfigId)).filter((r) => r.type === 'ERROR')
    assert.deepEqual(healthyErrors, [], 'nothing is logged as an error of the healthy config')
    assert.equal((await this.configRow(this.healthyConfigId)).error, null, 'the healthy config has no error')
  }

  async healthzMs(proc: FleetProcess, timeoutMs = 3000): Promise<number> {
    const port = await proc.healthPort(5000)
    const started = Date.now()
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(timeoutMs) })
      assert.equal(res.status, 200, `${proc.name} /healthz answers 200`)
    } catch (err) {
      if ((err as Error).name === 'TimeoutError') return timeoutMs
      throw err
    }
    return Date.now() - started
  }

  /** No process crashed or hung: each still runs and answers /healthz within 2 s. */
  async assertAllAlive(): Promise<void> {
    for (const proc of this.processes) {
      assert.equal(proc.child.exitCode, null, `${proc.name} is still running (stderr: ${proc.stderr.join('\n').slice(-1500)})`)
      assert.equal(proc.child.signalCode, null, `${proc.name} was not killed by a signal`)
      const ms = await this.healthzMs(proc)
      assert.ok(ms < 2000, `${proc.name} answered /healthz in ${ms} ms`)
    }
  }

  /** Waits until every ingest job is done: the events plugins captured are stored, or dropped for good. */
  async waitIngested(): Promise<void> {
    await eventually(
      'the captured events ingested',
      () => this.ingestBacklog(),
      (n) => n === 0,
      90_000,
    )
  }

  /** Ingest jobs not finished yet, captured events included. */
  async ingestBacklog(): Promise<number> {
    const queue = createQueue(QUEUES.ingest, this.redis, this.fleet.env.QUEUE_PREFIX)
    try {
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children')
      return Object.values(counts).reduce((a, b) => a + b, 0)
    } finally {
      await queue.close()
    }
  }

  /** Plugin jobs (meta.jobs) waiting or delayed. */
  async pluginJobs(): Promise<Job<PluginJobData>[]> {
    const queue = createQueue<PluginJobData>(QUEUES.jobs, this.redis, this.fleet.env.QUEUE_PREFIX)
    try {
      return await queue.getJobs(['waiting', 'delayed'])
    } finally {
      await queue.close()
    }
  }

  get redisClient(): Redis {
    return this.redis
  }

  get queuePrefix(): string {
    return this.fleet.env.QUEUE_PREFIX
  }

  get hostilePlugin(): number {
    return this.hostilePluginId
  }

  managementContext(): ReturnType<typeof managementContext> {
    return this.management
  }

  /** A process a hostile plugin left hung still goes: SIGTERM, then SIGKILL after 10 s. */
  async close(): Promise<void> {
    await Promise.all(
      this.processes.map(async (proc) => {
        const timer = setTimeout(() => proc.child.kill('SIGKILL'), 10_000)
        await proc.kill('SIGTERM')
        clearTimeout(timer)
      }),
    )
    this.redis.disconnect()
    await this.management.close()
    await this.fleet.close()
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
export function cpuSeconds(pid: number): number {
  const fields = fs
    .readFileSync(`/proc/${pid}/stat`, 'utf8')
    .replace(/^.*\) /, '')
    .split(' ')
  // After the command name: state is field 3, utime field 14, stime field 15 (1-based, proc(5)).
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/** Resident memory of a process, from /proc (statm's second field, in pages). */
export function rssBytes(pid: number): number {
  return Number(fs.readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * 4096
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}
