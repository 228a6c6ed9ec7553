import { randomUUID } from 'node:crypto'
import type { Queue } from 'bullmq'
import { createExportQueue, createRedis, ExportBatch, IngestEvent } from '@plugin-server/core'
import { createTeam, Team } from '@plugin-server/db'
import { DELIVERIES_QUEUE, ExportCounts, EXPORT_METRIC_NAMES, exportSettings, RunningExporter, startExporter } from '@plugin-server/export'
import { readMetrics } from '@plugin-server/plugin-runtime'
import { createTestDatabase, TestDatabase, testQueuePrefix } from '../harness/databases'
import { enablePlugin, managementContext } from '../harness/plugins'
import { testRoleContext } from '../harness/role-context'
import pino from 'pino'
import { Destination } from './destination'

/** A database, team, queue prefix and destination of their own, and an in-process exporter on demand. */
export interface ExportSetup {
  db: TestDatabase
  team: Team
  prefix: string
  destination: Destination
  url: string
  management: ReturnType<typeof managementContext>
  exportQueue: Queue<ExportBatch>
  redis: ReturnType<typeof createRedis>
  env: Record<string, string>
  enable: (teamId: number, fixture: string, config: Record<string, string>) => Promise<number>
  startExporter: (env?: Record<string, string>) => Promise<RunningExporter>
  handoff: (teamId: number, events: IngestEvent[]) => Promise<void>
  metrics: (configId: number) => Promise<ExportCounts>
  /** /metrics text of the last exporter started. */
  prometheus: () => Promise<string>
  close: () => Promise<void>
}

export const TEST_TIME_SCALE = 10_000

export async function exportSetup(): Promise<ExportSetup> {
  const db = await createTestDatabase()
  const team = await createTeam(db.pool, 'export team')
  const prefix = testQueuePrefix()
  const destination = new Destination()
  const url = await destination.start()
  const management = managementContext(db.pool, prefix)
  const env = { DATABASE_URL: db.url, QUEUE_PREFIX: prefix, TIME_SCALE: String(TEST_TIME_SCALE), PLUGIN_TIMEOUT_MS: '20000' }
  const ctxs: ReturnType<typeof testRoleContext>[] = []
  const exporters: RunningExporter[] = []
  const redis = createRedis(process.env.REDIS_URL!, pino({ level: 'silent' }), 'test-export')
  const exportQueue = createExportQueue(redis, { queuePrefix: prefix, ingest: { attempts: 5 } })
  let handoffs = 0
  return {
    db,
    team,
    prefix,
    destination,
    url,
    management,
    exportQueue,
    redis,
    env,
    enable: async (teamId, fixture, config) => (await enablePlugin(management, teamId, fixture, config)).id,
    startExporter: async (more = {}) => {
      const all = { ...env, EXPORT_BUFFER_MAX_AGE_MS: '3600000', EXPORT_FLUSH_INTERVAL_MS: '50', ...more }
      const ctx = testRoleContext('exporter', all)
      ctxs.push(ctx)
      const exporter = await startExporter(ctx, exportSettings(ctx.config))
      exporters.push(exporter)
      return exporter
    },
    handoff: async (teamId, events) => {
      await exportQueue.add('events', { teamId, events }, { jobId: `x-${++handoffs}-${teamId}` })
    },
    metrics: async (configId) => {
      const all = await readMetrics(redis, prefix, configId)
      return Object.fromEntries(EXPORT_METRIC_NAMES.map((n) => [n, all[n] ?? 0])) as ExportCounts
    },
    prometheus: () => ctxs[ctxs.length - 1].registry.metrics(),
    close: async () => {
      destination.release(503)
      for (const exporter of exporters) for (const closer of exporter.closers) await closer.close().catch(() => undefined)
      await exportQueue.close()
      redis.disconnect()
      await management.close()
      for (const ctx of ctxs) await ctx.close()
      await destination.close()
      await db.drop()
    },
  }
}

export function testEvent(teamId: number, name = '$pageview', properties: Record<string, unknown> = {}): IngestEvent {
  const now = new Date().toISOString()
  return {
    uuid: randomUUID(),
    team_id: teamId,
    event: name,
    distinct_id: 'user-1',
    properties,
    timestamp: now,
    now,
    sent_at: null,
    ip: '127.0.0.1',
    site_url: '',
  }
}

export { DELIVERIES_QUEUE }
