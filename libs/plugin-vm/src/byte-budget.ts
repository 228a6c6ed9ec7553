import { keptFor, keptFrom, Reserve } from './reserve'

/**
 * Bytes host code holds on one plugin instance's behalf — response bodies being read, upload chunks
 * not yet sent — within a limit: no isolate's memory limit sees them. A budget may sit `within`
 * another (an instance's within its team's, a team's within the process's): what it holds counts
 * there too, so many instances of one team cannot multiply the instance's limit.
 */
export interface ByteBudget {
  bytes: number
  readonly limit: number
  readonly within?: ByteBudget
  /** What the budget is, in refusals (`what the host holds for team 5's plugins`), and the variable setting it; without them, the instance's own. */
  readonly name?: string
  readonly variable?: string
  /** Set on the process's budget: its last bytes go only to teams holding little (./reserve). */
  readonly reserve?: Reserve
}

/** A budget several instances share (a team's, the process's): named in refusals, with the variable setting it. */
export interface SharedByteBudget extends ByteBudget {
  readonly name: string
  readonly variable: string
  readonly within?: SharedByteBudget
}

/** Holds `n` more bytes of the budget and of every budget it sits within, or answers false, holding nothing, when that would pass a limit. */
export function holdBytes(budget: ByteBudget, n: number): boolean {
  if (fullAt(budget, n)) return false
  for (let b: ByteBudget | undefined = budget; b; b = b.within) b.bytes += n
  return true
}

/** Gives back `n` bytes held with holdBytes. */
export function releaseBytes(budget: ByteBudget, n: number): void {
  for (let b: ByteBudget | undefined = budget; b; b = b.within) b.bytes -= n
}

/** Bytes `budget` and every budget it sits within all have room for (a reserve counted as no room for a team it is not kept for). */
export function roomIn(budget: ByteBudget): number {
  let room = Infinity
  let inner: ByteBudget | undefined
  for (let b: ByteBudget | undefined = budget; b; inner = b, b = b.within) room = Math.min(room, b.limit - keptFrom(b.reserve, inner?.bytes) - b.bytes)
  return Math.max(0, room)
}

/**
 * When what `n` more bytes would pass is a shared budget `budget` sits within (its team's, the
 * process's), that budget; null when it is `budget` itself, whose refusal is its owner's to word.
 */
export function sharedFull(budget: ByteBudget, n: number): SharedByteBudget | null {
  const full = fullAt(budget, n)
  return full && full !== budget && isShared(full) ? full : null
}

function isShared(budget: ByteBudget): budget is SharedByteBudget {
  return typeof budget.name === 'string' && typeof budget.variable === 'string'
}

/**
 * A shared budget's refusal of `n` more bytes asked for at `from`, without its variable: `what the
 * host holds for team 5's plugins (…) would pass 209715200 bytes`, or, when `n` fit its limit and it
 * was the reserve, what it holds, for whom the rest is kept and what the asking team already holds.
 */
export function wouldPass(budget: SharedByteBudget, n: number, from: ByteBudget): string {
  if (budget.reserve && budget.bytes + n <= budget.limit) {
    let inner: ByteBudget | undefined = from
    while (inner && inner.within !== budget) inner = inner.within
    const team = inner && isShared(inner) ? `; ${inner.name} is already ${inner.bytes} bytes` : ''
    return `${budget.name} holds ${budget.bytes} of ${budget.limit} bytes, and ${keptFor(budget.reserve, 'bytes')}${team}`
  }
  return `${budget.name} would pass ${budget.limit} bytes`
}

/** The first budget, from `budget` outwards, that `n` more bytes would pass (or reach into a reserve not kept for it), or undefined when all have room. */
export function fullAt(budget: ByteBudget, n: number): ByteBudget | undefined {
  let inner: ByteBudget | undefined
  for (let b: ByteBudget | undefined = budget; b; inner = b, b = b.within) {
    if (b.bytes + n > b.limit - keptFrom(b.reserve, inner?.bytes)) return b
  }
  return undefined
}
