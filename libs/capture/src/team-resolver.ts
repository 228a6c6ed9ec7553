import type { Pool } from 'pg'
import { findTeamByToken } from '@plugin-server/db'

interface Answer {
  teamId: number | null
  expires: number
}

/**
 * Tokens are checked on every request, so answers are cached briefly; a new team is usable within
 * `ttlMs`. Answers for a token no team has are kept apart and fewer, so a flood of made-up tokens
 * (each one a query) cannot push the real teams' tokens out; a token looked up while its lookup is
 * already running waits for that one instead of querying again.
 */
export class TeamResolver {
  private readonly known = new Map<string, Answer>()
  private readonly unknown = new Map<string, Answer>()
  private readonly pending = new Map<string, Promise<number | null>>()

  constructor(
    private readonly pool: Pool,
    private readonly ttlMs = 10_000,
    private readonly maxKnown = 100_000,
    private readonly maxUnknown = 10_000,
  ) {}

  teamId(token: string): Promise<number | null> {
    const hit = this.known.get(token) ?? this.unknown.get(token)
    if (hit && hit.expires > Date.now()) return Promise.resolve(hit.teamId)
    let lookup = this.pending.get(token)
    if (!lookup) {
      lookup = this.lookUp(token).finally(() => this.pending.delete(token))
      this.pending.set(token, lookup)
    }
    return lookup
  }

  private async lookUp(token: string): Promise<number | null> {
    const teamId = (await findTeamByToken(this.pool, token))?.id ?? null
    const [cache, max] = teamId === null ? [this.unknown, this.maxUnknown] : [this.known, this.maxKnown]
    // Oldest first out: a Map iterates in insertion order, and an answer is inserted anew when refreshed.
    cache.delete(token)
    if (cache.size >= max) cache.delete(cache.keys().next().value as string)
    cache.set(token, { teamId, expires: Date.now() + this.ttlMs })
    ;(teamId === null ? this.known : this.unknown).delete(token)
    return teamId
  }
}
