import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import Redis from 'ioredis'
import pino from 'pino'
import { ReloadMessage, subscribeReload } from '@plugin-server/core'
import { ManagementContext } from '@plugin-server/management'
import { secretAad } from '@plugin-server/secrets'
import { createTestDatabase, testQueuePrefix, TestDatabase } from '../harness/databases'
import { REPO_ROOT } from '../harness/processes'
import { testSecretBox } from '../harness/security-env'
import { bound } from '../harness/wait'

export const FIXTURES = path.join(REPO_ROOT, 'test/fixtures/plugins')
export const BASIC = path.join(FIXTURES, 'management-basic')
export const WITH_ATTACHMENT = path.join(FIXTURES, 'management-attachment')
export const BROKEN = path.join(FIXTURES, 'management-broken')

/** A value no message, response or log line may ever contain. */
export const SECRET = 'sk_live_7f3a9c2e1b5d4f60'

export interface ManagementHarness {
  db: TestDatabase
  ctx: ManagementContext
  /** Everything the context's logger wrote, as text. */
  logText: () => string
  reloads: ReloadRecorder
  close: () => Promise<void>
}

export interface ReloadRecorder {
  messages: ReloadMessage[]
  /** Resolves with the first message (already received or arriving) that matches, or fails after `timeoutMs`. */
  next: (predicate: (m: ReloadMessage) => boolean, timeoutMs?: number) => Promise<ReloadMessage>
}

export async function startManagement(): Promise<ManagementHarness> {
  const db = await createTestDatabase()
  const queuePrefix = testQueuePrefix()
  const redis = new Redis(process.env.REDIS_URL!)
  const subscriber = new Redis(process.env.REDIS_URL!)
  const chunks: string[] = []
  const logger = pino({ level: 'debug' }, { write: (line: string) => void chunks.push(line) })
  const messages: ReloadMessage[] = []
  let waiters: { predicate: (m: ReloadMessage) => boolean; resolve: (m: ReloadMessage) => void }[] = []
  await subscribeReload(subscriber, queuePrefix, (message) => {
    messages.push(message)
    waiters = waiters.filter((w) => (w.predicate(message) ? (w.resolve(message), false) : true))
  })
  const reloads: ReloadRecorder = {
    messages,
    next: (predicate, unscaledMs = 5000) => {
      const found = messages.find(predicate)
      if (found) return Promise.resolve(found)
      const timeoutMs = bound(unscaledMs)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching reload message within ${timeoutMs} ms; got ${JSON.stringify(messages)}`)), timeoutMs)
        waiters.push({ predicate, resolve: (m) => (clearTimeout(timer), resolve(m)) })
      })
    },
  }
  return {
    db,
    ctx: { pool: db.pool, redis, queuePrefix, logger, secrets: testSecretBox() },
    logText: () => chunks.join(''),
    reloads,
    close: async () => {
      subscriber.disconnect()
      redis.disconnect()
      // pool.end() resolves before its sockets are closed, so the forced DROP can still kill one;
      // without a listener that error would surface as an uncaught exception.
      db.pool.on('error', () => undefined)
      await db.drop()
    },
  }
}

/** The environment a CLI process run by a test needs to reach the harness's database, Redis and queues, with `extra` added. */
export function cliEnv(h: ManagementHarness, extra: Record<string, string> = {}): Record<string, string> {
  return { DATABASE_URL: h.db.url, REDIS_URL: process.env.REDIS_URL!, QUEUE_PREFIX: h.ctx.queuePrefix, ...extra }
}

export async function createTeamRow(h: ManagementHarness, name = 'team'): Promise<number> {
  const { rows } = await h.db.pool.query<{ id: number }>(`INSERT INTO teams (name, api_token) VALUES ($1, $2) RETURNING id`, [
    name,
    `phc_${Math.random().toString(36).slice(2)}`,
  ])
  return rows[0].id
}

/** A copy of a fixture in a temp dir, so a test can change its source. */
export async function copyFixture(from: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ps-mgmt-'))
  await fs.cp(from, dir, { recursive: true })
  return dir
}

/** A row as a plugin VM would write it. */
export async function insertLog(h: ManagementHarness, configId: number, type: string, source: string, message: string): Promise<number> {
  const { rows } = await h.db.pool.query<{ id: string }>(
    `INSERT INTO plugin_log_entries (team_id, plugin_id, plugin_config_id, source, type, message, instance_id)
     SELECT team_id, plugin_id, id, $2, $3, $4, 'test-instance' FROM plugin_configs WHERE id = $1 RETURNING id`,
    [configId, source, type, message],
  )
  return Number(rows[0].id)
}

/**
 * A stored config value as workers read it: secret values are sealed at rest (the raw jsonb holds
 * `enc:v1:…`), so this asserts that and opens them with the test key.
 */
export async function storedConfigValue(h: ManagementHarness, configId: number, key: string): Promise<unknown> {
  const { rows } = await h.db.pool.query<{ config: Record<string, unknown>; team_id: number; plugin_id: number }>(
    'SELECT config, team_id, plugin_id FROM plugin_configs WHERE id = $1',
    [configId],
  )
  const value = rows[0].config[key]
  if (typeof value !== 'string' || !value.startsWith('enc:v1:')) return value
  return h.ctx.secrets.open(value, secretAad({ teamId: rows[0].team_id, pluginId: rows[0].plugin_id }, key))
}
