import type { Pool } from 'pg'
import { findTeamByToken } from '@plugin-server/db'

/**
 * Tokens are checked on every request, so answers (including "unknown") are cached briefly; a new
 * team is usable within `ttlMs`.
 */
export class TeamResolver {
  private readonly cache = new Map<string, { teamId: number | null; expires: number }>()

  constructor(
    private readonly pool: Pool,
    private readonly ttlMs = 10_000,
  ) {}

  async teamId(token: string): Promise<number | null> {
    const hit = this.cache.get(token)
    if (hit && hit.expires > Date.now()) return hit.teamId
    const team = await findTeamByToken(this.pool, token)
    if (this.cache.size > 100_000) this.cache.clear()
    this.cache.set(token, { teamId: team?.id ?? null, expires: Date.now() + this.ttlMs })
    return team?.id ?? null
  }
}
