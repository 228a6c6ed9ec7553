/**
 * The last `amount` of a bound several teams share (the process's sockets, the bytes the host holds
 * for plugins), kept for teams holding less than `below` of it: however many teams fill the rest, a
 * team using little still gets room. Without it the process's bounds went to whoever came first:
 * sixteen teams at their socket limit left a seventeenth none, and five at their held-bytes limit
 * left every other team's responses refused.
 */
export interface Reserve {
  readonly amount: number
  readonly below: number
}

/**
 * How much of a bound's limit is kept from a team holding `teamHeld` of it: the reserve when the team
 * is at its mark or past it, else none (none too without a team, as when the bound is taken directly).
 */
export function keptFrom(reserve: Reserve | undefined, teamHeld: number | undefined): number {
  return reserve !== undefined && teamHeld !== undefined && teamHeld >= reserve.below ? reserve.amount : 0
}

/** A reserve's rule, in refusals: `the last 20 sockets are kept for teams holding under 12`. */
export function keptFor(reserve: Reserve, unit: string): string {
  return `the last ${reserve.amount} ${unit} are kept for teams holding under ${reserve.below}`
}
