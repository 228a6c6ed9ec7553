import { findTeamById } from '@plugin-server/db'
import type { Pool } from 'pg'

interface Answer {
  anonymizes: boolean
  expires: number
}

/**
 * Which teams anonymise IPs, as the ingest worker reads it before a store: capture already queues
 * their events without the address, but not those queued before the setting changed, nor by a
 * capture pod still on its cached answer; PostHog's worker checked the team too. One read per team
 * at a time, kept `ttlMs`; an expired answer is read again before it is used (a store waits for it,
 * a failed read fails the store, which is retried), so a change holds within `ttlMs`.
 */
export class AnonymizingTeams {
  private readonly answers = new Map<number, Answer>()
  private readonly pending = new Map<number, Promise<boolean>>()

  constructor(
    private readonly pool: Pool,
    private readonly ttlMs = 10_000,
    private readonly maxKept = 100_000,
  ) {}

  anonymizes(teamId: number): Promise<boolean> {
    const known = this.answers.get(teamId)
    if (known && known.expires > Date.now()) return Promise.resolve(known.anonymizes)
    let read = this.pending.get(teamId)
    if (!read) {
      read = this.read(teamId).finally(() => this.pending.delete(teamId))
      this.pending.set(teamId, read)
    }
    return read
  }

  private async read(teamId: number): Promise<boolean> {
    const anonymizes = (await findTeamById(this.pool, teamId))?.anonymize_ips === true
    // Oldest first out: a Map iterates in insertion order, and an answer is inserted anew when read again.
    this.answers.delete(teamId)
    if (this.answers.size >= this.maxKept) this.answers.delete(this.answers.keys().next().value as number)
    this.answers.set(teamId, { anonymizes, expires: Date.now() + this.ttlMs })
    return anonymizes
  }
}
