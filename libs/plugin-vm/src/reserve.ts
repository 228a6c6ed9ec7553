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
 * Whether `n` more of a bound holding `held` of `limit` would reach into its reserve for a team
 * holding `teamHeld` of it (undefined: not a team's, as when the bound is taken directly).
 */
export function keptBack(reserve: Reserve | undefined, held: number, n: number, limit: number, teamHeld: number | undefined): boolean {
  return reserve !== undefined && teamHeld !== undefined && teamHeld >= reserve.below && held + n > limit - reserve.amount
}

/** A reserve's rule, in refusals: `the last 20 sockets are kept for teams holding under 12`. */
export function keptFor(reserve: Reserve, unit: string): string {
  return `the last ${reserve.amount} ${unit} are kept for teams holding under ${reserve.below}`
}
