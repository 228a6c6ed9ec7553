import assert from 'node:assert/strict'
import { createTeam } from '@plugin-server/db'
import { ConfigInputValue, createTeamAdminToken } from '@plugin-server/management'
import { createTestFleet, TestFleet } from '../harness/fleet'
import { enablePlugin, managementContext } from '../harness/plugins'

export const OPERATOR = 'admin-api-fleet-operator-0123456789'

export type FleetRole = 'capture' | 'ingest-worker' | 'exporter' | 'job-worker' | 'scheduler'

export interface Reply {
  status: number
  text: string
  json: <T>() => T
}

/** A real fleet with the admin API on, a team token of its team, and a second team with a token of its own. */
export interface AdminFleet {
  fleet: TestFleet
  management: ReturnType<typeof managementContext>
  teamToken: string
  other: { teamId: number; token: string }
  call: (method: string, url: string, body?: unknown, token?: string) => Promise<Reply>
  /** Like `call`, and asserts the status first. */
  ok: <T>(method: string, url: string, body?: unknown, status?: number, token?: string) => Promise<T>
  /** Installs a fixture and gives the fleet's team an enabled config of it. */
  enable: (fixture: string, config?: Record<string, ConfigInputValue>) => Promise<number>
  /** Every route answers 403 to the other team's token, and never reaches the handler. */
  assertOtherTeamForbidden: (routes: [method: string, url: string, body?: unknown][]) => Promise<void>
  close: () => Promise<void>
}

export async function startAdminFleet(roles: FleetRole[], env: Record<string, string> = {}): Promise<AdminFleet> {
  const fleet = await createTestFleet({ ADMIN_API_TOKEN: OPERATOR, ADMIN_API_TEAM_TOKENS: 'true', CAPTURE_BATCH_MAX_WAIT_MS: '0', ...env })
  const management = managementContext(fleet.db.pool, fleet.env.QUEUE_PREFIX)
  try {
    await Promise.all(roles.map((role) => fleet.start(role)))
    const teamToken = (await createTeamAdminToken(management, fleet.team.id, 'admin api test')).token
    const otherTeam = await createTeam(fleet.db.pool, 'other team')
    const other = { teamId: otherTeam.id, token: (await createTeamAdminToken(management, otherTeam.id, 'other team test')).token }
    const call = async (method: string, url: string, body?: unknown, token = OPERATOR): Promise<Reply> => {
      const res = await fetch(`${fleet.captureUrl}${url}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
      const text = await res.text()
      return { status: res.status, text, json: <T>() => JSON.parse(text) as T }
    }
    return {
      fleet,
      management,
      teamToken,
      other,
      call,
      ok: async <T>(method: string, url: string, body?: unknown, status = 200, token?: string): Promise<T> => {
        const reply = await call(method, url, body, token)
        assert.equal(reply.status, status, `${method} ${url}: ${reply.text}`)
        return reply.json<T>()
      },
      enable: async (fixture, config = {}) => (await enablePlugin(management, fleet.team.id, fixture, config)).id,
      assertOtherTeamForbidden: async (routes) => {
        for (const [method, url, body] of routes) {
          const reply = await call(method, url, body, other.token)
          assert.equal(reply.status, 403, `${method} ${url} with another team's token: ${reply.text}`)
          assert.match(reply.json<{ error: { message: string } }>().error.message, /^this token is scoped to team \d+/)
        }
      },
      close: async () => {
        await management.close()
        await fleet.close()
      },
    }
  } catch (err) {
    await management.close()
    await fleet.close()
    throw err
  }
}

/** Sends events through capture's /batch endpoint with the team's project token. */
export async function sendEvents(fleet: TestFleet, events: { event: string; properties?: Record<string, unknown> }[]): Promise<void> {
  const batch = events.map((e, i) => ({ event: e.event, distinct_id: `user-${i}`, properties: e.properties ?? {} }))
  const res = await fetch(`${fleet.captureUrl}/batch`, { method: 'POST', body: JSON.stringify({ api_key: fleet.team.api_token, batch }) })
  assert.equal(res.status, 200, await res.text())
}
