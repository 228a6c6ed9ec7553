import type { ExportSettings } from './interfaces'
import type { PendingLimit, PendingOwner } from './pending-events'

/** The three limits on live events waiting for delivery (EXPORT_MAX_PENDING_EVENTS, EXPORT_TEAM_…, EXPORT_FLEET_…; the last 0: none). */
export type PendingLimits = Pick<ExportSettings, 'maxPendingEvents' | 'maxTeamPendingEvents' | 'maxFleetPendingEvents'>

/**
 * What a refusal says: whose events are waiting, how many, and the variable that holds them there
 * (for a replay, which may fill half of each limit, "over half of" it). The fleet's refusal names
 * neither the count nor the limit: it goes to the refused team's dead letters and logs, and a team
 * replaying batches of chosen sizes could read every team's pending total from it.
 */
export function pendingLimitText(limit: PendingLimit, pending: number, owner: PendingOwner, limits: PendingLimits, replay = false): string {
  const over = (variable: string, value: number) => `over ${replay ? 'half of ' : ''}${variable} (${value})`
  switch (limit) {
    case 'config':
      return `plugin config ${owner.configId} already has ${pending} events waiting for delivery, ${over('EXPORT_MAX_PENDING_EVENTS', limits.maxPendingEvents)}`
    case 'team':
      return `team ${owner.teamId}'s plugin configs already have ${pending} events waiting for delivery together, ${over('EXPORT_TEAM_MAX_PENDING_EVENTS', limits.maxTeamPendingEvents)}`
    case 'fleet':
      return `the plugin configs of all teams have too many events waiting for delivery together, over ${replay ? 'half of ' : ''}EXPORT_FLEET_MAX_PENDING_EVENTS`
  }
}
