import type { Pool } from 'pg'
import { Counter, Gauge, Registry } from 'prom-client'
import { sharedScrape } from '@plugin-server/core'
import { countPendingDeadLettersByTeam } from '@plugin-server/db'

/** A scrape waits this long for Postgres; past it the gauges are left empty and the miss counted. */
const READ_TIMEOUT_MS = 2000

/**
 * The dead letters waiting for a replay or a discard, per team, read from Postgres at scrape time.
 * `plugin_export_undelivered_events_total` counts them as the exporters write them, so an alert on it
 * sees the last hour only, and a pod's restart starts it again; this is the backlog itself, which
 * stays until a replay or the retention (EXPORT_DEAD_LETTER_RETENTION_DAYS) takes it. Fleet state:
 * every scheduler replica reports the same values (max()), one series per team holding any.
 */
export function registerDeadLetterGauges(registry: Registry, pool: Pool): void {
  const errors = new Counter({
    name: 'plugin_export_dead_letters_read_errors_total',
    help: 'Scrapes at which the pending dead letters could not be counted in Postgres',
    registers: [registry],
  })
  const shared = sharedScrape(
    () => collect(),
    READ_TIMEOUT_MS,
    () => {
      letters.reset()
      events.reset()
      errors.inc()
    },
  )
  const letters = new Gauge({
    name: 'plugin_export_dead_letters_pending',
    help: "Export dead letters of a team not replayed yet (each a batch its configs' destinations did not take)",
    labelNames: ['team_id'],
    registers: [registry],
    collect: shared,
  })
  const events = new Gauge({
    name: 'plugin_export_dead_letter_events_pending',
    help: 'Events in the export dead letters of a team not replayed yet',
    labelNames: ['team_id'],
    registers: [registry],
    collect: shared,
  })
  const collect = async () => {
    const teams = await countPendingDeadLettersByTeam(pool)
    letters.reset()
    events.reset()
    for (const team of teams) {
      letters.set({ team_id: String(team.teamId) }, team.letters)
      events.set({ team_id: String(team.teamId) }, team.events)
    }
  }
}
