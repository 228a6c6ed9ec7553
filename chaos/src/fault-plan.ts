import type { LocalServer } from '@plugin-server/dev-services'
import type { ChaosFleet } from './chaos-fleet'
import type { Fault, FaultKind } from './faults'

export interface FaultTargets {
  fleet: ChaosFleet
  redis: LocalServer
  postgres: LocalServer
  /** Requests to capture the clients have in flight now. */
  inFlight: () => number
  /** Resolves with the time a new event went through capture into Postgres. */
  recovered: (after: string) => Promise<number>
  log: (line: string) => void
}

/** Eleven faults, one per twelfth of the run: the three hard ones at a quarter, half and three quarters. */
const PLAN: FaultKind[] = [
  'worker SIGKILL',
  'worker SIGKILL',
  'capture SIGKILL',
  'worker SIGKILL',
  'worker SIGKILL',
  'redis SIGKILL',
  'worker SIGKILL',
  'worker SIGKILL',
  'postgres immediate stop',
  'worker SIGKILL',
  'worker SIGKILL',
]

// A slot already past (a slow fault) is a wait of 0, not a negative delay Node warns about.
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)))

/**
 * Runs every fault of the plan, the k-th at k/12 of `seconds` (or as soon as the one before is
 * over, if faults take longer on a slow machine): capture SIGKILLed and started again 1 s later (the
 * clients retry), Redis SIGKILLed, Postgres stopped with `pg_ctl stop -m immediate`, each followed
 * by waiting for a new event to be stored; the others SIGKILL a random worker and start it again
 * 0.5–2 s later. A restarted process is waited for until it is up, so no fault lands in another's
 * start-up. Resolves once every fault is done and `seconds` have passed.
 */
export async function runFaultPlan(seconds: number, targets: FaultTargets): Promise<Fault[]> {
  const { fleet, log } = targets
  const started = Date.now()
  const slotMs = (seconds * 1000) / (PLAN.length + 1)
  const faults: Fault[] = []
  for (const [i, kind] of PLAN.entries()) {
    await sleep(started + (i + 1) * slotMs - Date.now())
    // Capture, or the Redis it queues into, dies in the middle of a request: wait (briefly) for one in flight.
    if (kind === 'capture SIGKILL' || kind === 'redis SIGKILL') await waitForRequest(targets.inFlight, 2000)
    const from = Date.now()
    const inFlight = targets.inFlight()
    if (kind === 'worker SIGKILL') {
      const target = await fleet.killRandomWorker()
      if (!target) continue
      log(`SIGKILL ${target}`)
      faults.push({ kind, target, at: from, inFlight, recoveredAt: null })
      await sleep(500 + Math.random() * 1500)
      await fleet.restartKilled()
      continue
    }
    log(kind)
    const target = await inflict(kind, targets)
    const recoveredAt = await targets.recovered(kind)
    faults.push({ kind, target, at: from, inFlight, recoveredAt })
    log(`${kind} of ${target}: a new event was stored ${recoveredAt - from} ms after the kill`)
  }
  await sleep(started + seconds * 1000 - Date.now())
  return faults
}

async function waitForRequest(inFlight: () => number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (inFlight() === 0 && Date.now() < deadline) await new Promise((r) => setImmediate(r))
}

async function inflict(kind: Exclude<FaultKind, 'worker SIGKILL'>, { fleet, redis, postgres }: FaultTargets): Promise<string> {
  if (kind === 'redis SIGKILL') return (await redis.restart('crash'), `redis-server :${redis.port}`)
  if (kind === 'postgres immediate stop') return (await postgres.restart('crash'), `postgres :${postgres.port}`)
  const victim = (await fleet.killCapture()) ?? 'capture (already dead)'
  await sleep(1000)
  await fleet.restartKilled()
  return victim
}
