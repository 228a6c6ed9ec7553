import type { ChaosTeam } from './chaos-teams'
import { discrepancy, Discrepancy } from './discrepancy'
import { missing } from './keys'
import type { Load } from './load'
import type { StoredEvent } from './stored-events'

export interface EventFigures {
  sent: number
  acked: number
  /** Stored events the load sent (canaries not counted). */
  stored: number
  canaries: number
  /** Stored events (canaries included) carrying their team's enrichment and naming its config in $plugins_succeeded. */
  enriched: number
  /** Stored events the load sent, exported at least once (canaries are held to it too, through the discrepancies). */
  exported: number
  exportDuplicates: number
  /** Acknowledged events not stored, outside any Redis SIGKILL's AOF window. */
  lost: number
  /** Acknowledged events lost within a Redis SIGKILL's AOF window (reported, not a failure). */
  lostInRedisWindow: number
}

export interface EventObservations {
  load: Pick<Load, 'sent' | 'acked'>
  canaries: ReadonlySet<string>
  stored: ReadonlyMap<string, StoredEvent>
  exported: ReadonlyMap<string, number>
  exportedProcessedBy: ReadonlyMap<string, string | null>
  teams: ChaosTeam[]
  redisWindows: { from: number; to: number }[]
}

/**
 * Sent vs acknowledged vs stored vs exported, keyed by team and uuid: nothing acknowledged is lost
 * (outside Redis' own AOF window), nothing is stored that was not sent, every stored and every
 * exported event went through its team's plugin chain, every stored event was exported.
 */
export function checkEvents(o: EventObservations): { figures: EventFigures; discrepancies: Discrepancy[] } {
  const teamOf = new Map(o.teams.map((t) => [String(t.id), t]))
  const team = (key: string) => teamOf.get(key.slice(0, key.indexOf(':')))
  const storedKeys = [...o.stored.keys()]
  const lost = missing(o.load.acked.keys(), o.stored)
  const inWindow = (key: string) => o.redisWindows.some((w) => o.load.acked.get(key)! >= w.from && o.load.acked.get(key)! <= w.to)
  const unenriched = storedKeys.filter((key) => o.stored.get(key)!.processedBy !== team(key)?.configName)
  const notNamed = storedKeys.filter((key) => !namesConfig(o.stored.get(key)!.pluginsSucceeded, team(key)?.configLabel))
  const exportedUnenriched = [...o.exportedProcessedBy].filter(([key, by]) => by !== team(key)?.configName).map(([key]) => key)
  const duplicates = [...o.exported].filter(([, n]) => n > 1).map(([key]) => key)
  const discrepancies = [
    discrepancy(
      'acknowledged by capture, not stored',
      lost.filter((k) => !inWindow(k)),
      true,
    ),
    discrepancy('acknowledged within the AOF window of a Redis SIGKILL, not stored', lost.filter(inWindow), false),
    discrepancy(
      'stored, never sent',
      storedKeys.filter((k) => !o.load.sent.has(k) && !o.canaries.has(k)),
      true,
    ),
    discrepancy("stored without its team's enrichment (chaos_processed_by)", unenriched, true),
    discrepancy("stored without its team's config in $plugins_succeeded", notNamed, true),
    discrepancy('stored, never exported', missing(storedKeys, o.exported), true),
    discrepancy('exported, not stored', missing(o.exported.keys(), o.stored), true),
    discrepancy("exported without its team's enrichment", exportedUnenriched, true),
    discrepancy('exported more than once (at least once is the promise)', duplicates, false),
    discrepancy('sent, never acknowledged and not stored (the client gave up)', missing(missing(o.load.sent.keys(), o.load.acked), o.stored), false),
    discrepancy(
      'stored, never acknowledged (capture died or timed out after queueing)',
      storedKeys.filter((k) => o.load.sent.has(k) && !o.load.acked.has(k)),
      false,
    ),
  ]
  const figures: EventFigures = {
    sent: o.load.sent.size,
    acked: o.load.acked.size,
    stored: storedKeys.filter((k) => o.load.sent.has(k)).length,
    canaries: storedKeys.filter((k) => o.canaries.has(k)).length,
    enriched: storedKeys.length - new Set([...unenriched, ...notNamed]).size,
    exported: storedKeys.filter((k) => o.load.sent.has(k) && o.exported.has(k)).length,
    exportDuplicates: duplicates.length,
    lost: lost.filter((k) => !inWindow(k)).length,
    lostInRedisWindow: lost.filter(inWindow).length,
  }
  return { figures, discrepancies }
}

function namesConfig(pluginsSucceeded: unknown, label: string | undefined): boolean {
  return Array.isArray(pluginsSucceeded) && label !== undefined && pluginsSucceeded.includes(label)
}
