/**
 * Bytes host code holds on one plugin instance's behalf — response bodies being read, upload chunks
 * not yet sent — within a limit: no isolate's memory limit sees them.
 */
export interface ByteBudget {
  bytes: number
  readonly limit: number
}

/** Holds `n` more bytes of the budget, or answers false, holding nothing, when that would pass its limit. */
export function holdBytes(budget: ByteBudget, n: number): boolean {
  if (budget.bytes + n > budget.limit) return false
  budget.bytes += n
  return true
}
