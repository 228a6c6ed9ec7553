import type { IngestEvent } from '@plugin-server/core'

/** A batch's events by team, each team's in the batch's order, teams in the order they first appear. */
export function eventsByTeam(events: readonly IngestEvent[]): Map<number, IngestEvent[]> {
  const teams = new Map<number, IngestEvent[]>()
  for (const event of events) {
    const team = teams.get(event.team_id)
    if (team) team.push(event)
    else teams.set(event.team_id, [event])
  }
  return teams
}
