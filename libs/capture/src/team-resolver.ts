import type { Pool } from 'pg'
import { findTeamByToken } from '@plugin-server/db'

/** What capture needs of a token's team. */
export interface ResolvedTeam {
  id: number
  /** Its events are queued without the client's address. */
  anonymizeIps: boolean
}

interface Answer {
  team: ResolvedTeam | null
  expires: number
}

/**
 * Tokens are checked on every request, so answers are cached briefly; a new team is usable within
 * `ttlMs`. Answers for a token no team has are kept apart and fewer, so a flood of made-up tokens
 * (each one a query) cannot push the real teams' tokens out; a token looked up while its lookup is
 * already running waits for that one instead of querying again.
 *
 * A team's answer past its time is still given while it is looked up again in the background: a
 * team's requests never wait on Postgres once its token is known, so a Postgres that is slow, busy
 * with a flood of made-up tokens, or away, holds back only tokens not seen yet. A token whose team
 * is gone stops working once a lookup says so.
 */
export class TeamResolver {
  private readonly known = new Map<string, Answer>()
  private readonly unknown = new Map<string, Answer>()
  private readonly pending = new Map<string, Promise<ResolvedTeam | null>>()

  constructor(
    private readonly pool: Pool,
    private readonly ttlMs = 10_000,
    private readonly maxKnown = 100_000,
    private readonly maxUnknown = 10_000,
  ) {}

  async teamId(token: string): Promise<number | null> {
    return (await this.team(token))?.id ?? null
  }

  /** A change of the team's settings (anonymize_ips) is seen within `ttlMs`, as a new team is. */
  team(token: string): Promise<ResolvedTeam | null> {
    const known = this.known.get(token)
    if (known) {
      // A failed refresh keeps the answer; the next request after it tries again.
      if (known.expires <= Date.now()) this.lookUpOnce(token).catch(() => undefined)
      return Promise.resolve(known.team)
    }
    const none = this.unknown.get(token)
    if (none && none.expires > Date.now()) return Promise.resolve(null)
    return this.lookUpOnce(token)
  }

  private lookUpOnce(token: string): Promise<ResolvedTeam | null> {
    let lookup = this.pending.get(token)
    if (!lookup) {
      lookup = this.lookUp(token).finally(() => this.pending.delete(token))
      this.pending.set(token, lookup)
    }
    return lookup
  }

  private async lookUp(token: string): Promise<ResolvedTeam | null> {
    const row = await findTeamByToken(this.pool, token)
    const team = row === null ? null : { id: row.id, anonymizeIps: row.anonymize_ips === true }
    const [cache, max] = team === null ? [this.unknown, this.maxUnknown] : [this.known, this.maxKnown]
    // Oldest first out: a Map iterates in insertion order, and an answer is inserted anew when refreshed.
    cache.delete(token)
    if (cache.size >= max) cache.delete(cache.keys().next().value as string)
    cache.set(token, { team, expires: Date.now() + this.ttlMs })
    ;(team === null ? this.known : this.unknown).delete(token)
    return team
  }
}
