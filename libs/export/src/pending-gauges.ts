import type Redis from 'ioredis'
import type { ChainableCommander } from 'ioredis'
import { Counter, Gauge, Registry } from 'prom-client'
import { sharedScrape } from '@plugin-server/core'
import type { PluginConfigRecord } from '@plugin-server/plugin-runtime'
import { exportKeys } from './keys'

/**
 * A scrape waits this long for Redis. The exporter's connection never gives up a command (BullMQ
 * needs that), so without it every scrape during a Redis outage stayed open until Redis returned.
 */
const READ_TIMEOUT_MS = 2000
/** Configs (five commands each) or teams (two) read per pipeline. */
const ITEMS_PER_ROUND_TRIP = 500

/**
 * Fleet state read from Redis at scrape time: every exporter reports the same values, so dashboards
 * take max() over instances. Counters stay per process (see ExportMetrics); these are levels. A read
 * that takes over 2 s leaves the gauges empty and counts `plugin_export_pending_read_errors_total`.
 * `configs`: those that may have export work (exportingConfigs), not every enabled one.
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
    const teams = [...new Set(records.map((r) => r.teamId))]
    const results: [Error | null, unknown][] = []
    // Pipelined, not one MULTI: a transaction over thousands of configs held Redis, which every role
    // and team shares, for its whole length. A chunk at a time also bounds what each round trip carries.
    const read = async <T>(items: readonly T[], add: (pipeline: ChainableCommander, item: T) => void) => {
      for (let from = 0; from < items.length; from += ITEMS_PER_ROUND_TRIP) {
        const pipeline = redis.pipeline()
        for (const item of items.slice(from, from + ITEMS_PER_ROUND_TRIP)) add(pipeline, item)
        results.push(...((await pipeline.exec()) ?? []))
      }
    }
    await read(records, (p, r) =>
      p
        .zrange(keys.pending(r.id), 0, 0, 'WITHSCORES')
        .zcard(keys.pending(r.id))
        .zcard(keys.retrying(r.id))
        .zscore(keys.buffered(), String(r.id))
        .get(keys.pendingEventsTotal(r.id)),
    )
    // Buffered exportEvents count against the team and fleet limits too (export-buffer.ts).
    await read(teams, (p, team) => p.get(keys.teamPendingEventsTotal(team)).get(keys.teamBufferedEvents(team)))
    await read([null], (p) => p.get(keys.fleetPendingEventsTotal()).get(keys.fleetBufferedEvents()))
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
