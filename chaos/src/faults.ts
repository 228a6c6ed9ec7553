export type FaultKind = 'worker SIGKILL' | 'capture SIGKILL' | 'redis SIGKILL' | 'postgres immediate stop'

export interface Fault {
  kind: FaultKind
  /** Which process: role and pid, or the server's port. */
  target: string
  /** When it was killed. */
  at: number
  /** Requests to capture the clients had in flight at that moment. */
  inFlight: number
  /** When an event sent after it was stored, for the faults the run waits out; null for worker kills. */
  recoveredAt: number | null
}

/** The span in which a Redis SIGKILL may lose what Redis acknowledged (see redisLossWindows). */
export const REDIS_AOF_WINDOW_MS = 2000

/**
 * With `appendfsync everysec` Redis writes each command to the AOF before it replies, so a SIGKILL
 * of the process alone loses nothing the kernel already has; but while a background fsync is slow
 * Redis postpones that write for up to 2 s and replies anyway. Events capture acknowledged from 2 s
 * before a Redis SIGKILL until Redis is back may therefore be lost by Redis' own guarantee.
 */
export function redisLossWindows(faults: Fault[]): { from: number; to: number }[] {
  return faults.filter((f) => f.kind === 'redis SIGKILL').map((f) => ({ from: f.at - REDIS_AOF_WINDOW_MS, to: f.recoveredAt ?? Number.MAX_SAFE_INTEGER }))
}

/** Spans in which a shared service was down: the schedule is not held to its interval there. */
export function serviceOutages(faults: Fault[]): { from: number; to: number }[] {
  return faults.filter((f) => f.kind === 'redis SIGKILL' || f.kind === 'postgres immediate stop').map((f) => ({ from: f.at, to: f.recoveredAt ?? f.at }))
}

export interface FaultExposure {
  fault: Fault
  /** Events capture acknowledged in the 2 s before the kill: what was in flight when it hit. */
  ackedJustBefore: number
  /** How many of those are stored. */
  storedOfThem: number
}

/** For each fault, what capture had just acknowledged and whether it survived: the hard faults' own evidence. */
export function exposeFaults(faults: Fault[], acked: ReadonlyMap<string, number>, stored: { has: (key: string) => boolean }): FaultExposure[] {
  return faults.map((fault) => {
    const before = [...acked].filter(([, at]) => at >= fault.at - REDIS_AOF_WINDOW_MS && at <= fault.at).map(([key]) => key)
    return { fault, ackedJustBefore: before.length, storedOfThem: before.filter((key) => stored.has(key)).length }
  })
}
