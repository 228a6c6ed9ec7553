import type Redis from 'ioredis'
import { Counter, Gauge, Registry } from 'prom-client'
import { sharedScrape } from '@plugin-server/core'
import type { PluginConfigRecord } from '@plugin-server/plugin-runtime'
import { exportKeys } from './keys'

/**
 * A scrape waits this long for Redis. The exporter's connection never gives up a command (BullMQ
 * needs that), so without it every scrape during a Redis outage stayed open until Redis returned.
 */
const READ_TIMEOUT_MS = 2000

/**
 * Fleet state read from Redis at scrape time: every exporter reports the same values, so dashboards
 * take max() over instances. Counters stay per process (see ExportMetrics); these are levels. A read
 * that takes over 2 s leaves the gauges empty and counts `plugin_export_pending_read_errors_total`.
 */
export function registerPendingGauges(registry: Registry, redis: Redis, prefix: string, configs: () => readonly PluginConfigRecord[]): void {
  const keys = exportKeys(prefix)
  const labelNames = ['team_id', 'plugin', 'plugin_config_id']
  const errors = new Counter({
    name: 'plugin_export_pending_read_errors_total',
    help: 'Scrapes at which the pending export gauges could not be read from Redis',
    registers: [registry],
  })
  // One Redis round trip serves all seven.
  const shared = sharedScrape(
    () => collect(),
    READ_TIMEOUT_MS,
    () => {
      for (const g of [oldest, pending, retrying, buffered, events, teamEvents, fleetEvents]) g.reset()
      errors.inc()
    },
  )
  const gauge = (name: string, help: string) => new Gauge({ name, help, labelNames, registers: [registry], collect: shared })
  const oldest = gauge('plugin_export_oldest_pending_batch_age_seconds', 'Age of the oldest delivery job not finished yet')
  const pending = gauge('plugin_export_pending_batches', 'Delivery jobs not finished yet (waiting, running or waiting for a retry)')
  const retrying = gauge('plugin_export_retries_in_flight', 'Delivery jobs waiting for a RetryError retry')
  const buffered = gauge('plugin_export_buffer_age_seconds', 'Age of the oldest event in the exportEvents buffer')
  const events = gauge('plugin_export_pending_events', 'Events of the delivery jobs not finished yet, against EXPORT_MAX_PENDING_EVENTS')
  const teamEvents = new Gauge({
    name: 'plugin_export_team_pending_events',
    help: "Events of a team's delivery jobs not finished yet, all its configs together, against EXPORT_TEAM_MAX_PENDING_EVENTS",
    labelNames: ['team_id'],
    registers: [registry],
    collect: shared,
  })
  const fleetEvents = new Gauge({
    name: 'plugin_export_fleet_pending_events',
    help: "Events of every team's delivery jobs not finished yet, against EXPORT_FLEET_MAX_PENDING_EVENTS",
    registers: [registry],
    collect: shared,
  })
  const collect = async () => {
    const records = configs()
    const multi = redis.multi()
    for (const r of records) {
      multi.zrange(keys.pending(r.id), 0, 0, 'WITHSCORES')
      multi.zcard(keys.pending(r.id))
      multi.zcard(keys.retrying(r.id))
      multi.zscore(keys.buffered(), String(r.id))
      multi.get(keys.pendingEventsTotal(r.id))
    }
    const teams = [...new Set(records.map((r) => r.teamId))]
    // Buffered exportEvents count against the team and fleet limits too (export-buffer.ts).
    for (const team of teams) multi.get(keys.teamPendingEventsTotal(team)).get(keys.teamBufferedEvents(team))
    multi.get(keys.fleetPendingEventsTotal()).get(keys.fleetBufferedEvents())
    const results = (await multi.exec()) ?? []
    const now = Date.now()
    for (const g of [oldest, pending, retrying, buffered, events, teamEvents, fleetEvents]) g.reset()
    records.forEach((r, i) => {
      const labels = { team_id: String(r.teamId), plugin: r.pluginName, plugin_config_id: String(r.id) }
      const [first, count, retries, since, waiting] = results.slice(i * 5, i * 5 + 5).map((x) => x[1]) as [
        string[],
        number,
        number,
        string | null,
        string | null,
      ]
      if (count === 0 && retries === 0 && since === null) return
      oldest.set(labels, first.length === 2 ? (now - Number(first[1])) / 1000 : 0)
      pending.set(labels, count)
      retrying.set(labels, retries)
      buffered.set(labels, since === null ? 0 : (now - Number(since)) / 1000)
      events.set(labels, Number(waiting ?? 0))
    })
    const sum = (from: number) => Number(results[from][1] ?? 0) + Number(results[from + 1][1] ?? 0)
    teams.forEach((team, i) => {
      const waiting = sum(records.length * 5 + i * 2)
      if (waiting > 0) teamEvents.set({ team_id: String(team) }, waiting)
    })
    fleetEvents.set(sum(results.length - 2))
  }
}
