import { randomUUID } from 'node:crypto'
import type { Pool } from 'pg'
import { waitFor } from '@plugin-server/dev-services'
import { eventKey } from './keys'
import type { LoadTeam } from './load'

/** Single events sent after a fault to learn when the pipeline works again; they are stored like any other. */
export class Canaries {
  readonly keys = new Set<string>()

  constructor(
    private readonly captureUrl: string,
    private readonly team: LoadTeam,
    private readonly pool: Pool,
  ) {}

  /** Sends one event until capture takes it, then waits for it in Postgres; resolves with the time it was there. */
  async stored(name: string): Promise<number> {
    const uuid = randomUUID()
    this.keys.add(eventKey(this.team.id, uuid))
    const body = JSON.stringify({ api_key: this.team.apiToken, batch: [{ uuid, event: 'chaos canary', distinct_id: name, properties: {} }] })
    const accepted = async () => (await fetch(`${this.captureUrl}/batch`, { method: 'POST', body }).catch(() => null))?.status === 200
    await waitFor('canary accepted', accepted, 120_000)
    const stored = async () => (await this.pool.query('SELECT 1 FROM events WHERE team_id = $1 AND uuid = $2', [this.team.id, uuid])).rows.length === 1
    await waitFor('canary stored', stored, 120_000)
    return Date.now()
  }
}
