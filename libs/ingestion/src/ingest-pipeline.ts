import type { IngestBatch, IngestEvent } from '@plugin-server/core'
import { storeEvents } from '@plugin-server/db'
import { AnonymizingTeams } from './anonymizing-teams'
import { withIpProperty, withoutAddress } from './ip-property'
import type { Pool } from 'pg'
import { eventsByTeam } from './events-by-team'
import type { AfterStoreHook, BatchResult, BatchStep, StageObserver } from './interfaces'
import { TeamBatchError, TeamFailure } from './team-batch-error'
import { TeamBusyError } from './team-busy-error'
import type { TeamGate, TeamLease } from './team-gate'

/** One team's events of a batch. */
export interface TeamPart {
  teamId: number
  events: IngestEvent[]
}

/**
 * How a worker admits teams' parts (ingest-consumer.ts): a part whose team is at its cap is not
 * run here but handed to `defer`, which must have put it somewhere durable when it resolves.
 */
export interface Admission {
  gate: TeamGate
  defer(parts: TeamPart[]): Promise<void>
}

/**
 * Events of one team's parts that wait for its lease together (a capture batch's most, which every
 * plugin already gets in one call): more parts start the next group.
 */
const GROUP_MAX_EVENTS = 200

type TeamOutcome = { stored: number; duplicates: number; dropped: number }

/** A part waiting for its team's lease with others, and how its own outcome reaches it. */
interface GroupMember {
  events: IngestEvent[]
  batchId: string
  /** performance.now() when it joined: its wait for the lease. */
  joined: number
  settle: (outcome: PromiseSettledResult<TeamOutcome>) => void
}

interface WaitingGroup {
  events: number
  members: GroupMember[]
}

/**
 * Runs a batch through its steps, stores what is left and runs the after-store hooks; safe to run
 * twice on the same batch. Each team's part of the batch goes through all of that on its own and
 * concurrently with the others, so one team's slow plugins never hold back another team's events.
 * `process` settles once every team is done: it resolves when all were stored, and otherwise
 * rejects with a TeamBatchError naming the teams that failed (the others are stored by then).
 *
 * Batches of one team that wait for its lease wait together (WaitingGroup): when the lease comes
 * they run through the steps as one pass, so the team's plugins are called once for all of them,
 * and each is then stored, handed over and acknowledged on its own. Under load a busy team's
 * batches cost fewer crossings into its sandboxes; a team with a free slot waits for no one.
 * `observe` is told how long each wait for a lease, each pass and each store took (StageObserver).
 */
export class IngestPipeline {
  private readonly waiting = new Map<number, WaitingGroup>()

  constructor(
    private readonly pool: Pool,
    private readonly steps: BatchStep[] = [],
    private readonly afterStore: AfterStoreHook[] = [],
    private readonly observe: StageObserver = () => undefined,
  ) {
    this.anonymizing = new AnonymizingTeams(pool)
  }

  private readonly anonymizing: AnonymizingTeams

  /**
   * Without `admission` every team's part runs. With it, a batch of one team waits for that team's
   * lease (TeamBusyError when the team is stuck), and in a batch of several teams each busy team's
   * part is deferred at once, counted as requeued.
   */
  async process(batch: IngestBatch, batchId = 'adhoc', admission?: Admission): Promise<BatchResult> {
    const parts = [...eventsByTeam(batch.events)].map(([teamId, events]): TeamPart => ({ teamId, events }))
    if (admission && parts.length === 1) return this.processOneTeam(parts[0], batch.events.length, batchId, admission)
    const leases = admit(parts, admission)
    const deferred = parts.filter((_, i) => leases[i] === null)
    if (deferred.length > 0) {
      try {
        await admission!.defer(deferred)
      } catch (err) {
        for (const lease of leases) lease?.()
        throw err
      }
    }
    const admitted = parts.flatMap((part, i) => (leases[i] === null ? [] : [{ ...part, release: leases[i] ?? noop }]))
    // Each lease goes back when its own team's steps are done, not when the slowest team of the batch is.
    const outcomes = await Promise.allSettled(admitted.map((part) => this.processTeam(part.events, batchId, part.release)))
    const result: BatchResult = { received: batch.events.length, stored: 0, duplicates: 0, dropped: 0, requeued: count(deferred) }
    const failures: TeamFailure[] = []
    admitted.forEach(({ teamId, events }, i) => {
      const outcome = outcomes[i]
      if (outcome.status === 'rejected') return failures.push({ teamId, events, error: asError(outcome.reason) })
      result.stored += outcome.value.stored
      result.duplicates += outcome.value.duplicates
      result.dropped += outcome.value.dropped
    })
    if (failures.length > 0) throw new TeamBatchError(failures, result)
    return result
  }

  /** A batch of one team: at once if the team has a free slot, otherwise with the team's waiting group. */
  private async processOneTeam(part: TeamPart, received: number, batchId: string, admission: Admission): Promise<BatchResult> {
    const lease = admission.gate.tryEnter(part.teamId)
    if (lease) this.observe('wait', 0)
    const outcome = lease
      ? await this.processTeam(part.events, batchId, lease).then(
          (value): PromiseSettledResult<TeamOutcome> => ({ status: 'fulfilled', value }),
          (reason: unknown): PromiseSettledResult<TeamOutcome> => ({ status: 'rejected', reason }),
        )
      : await this.joinGroup(part, batchId, admission)
    const result: BatchResult = { received, stored: 0, duplicates: 0, dropped: 0, requeued: 0 }
    if (outcome.status === 'rejected') {
      if (outcome.reason instanceof TeamBusyError) throw outcome.reason
      throw new TeamBatchError([{ teamId: part.teamId, events: part.events, error: asError(outcome.reason) }], result)
    }
    return { ...result, ...outcome.value }
  }

  private joinGroup(part: TeamPart, batchId: string, admission: Admission): Promise<PromiseSettledResult<TeamOutcome>> {
    return new Promise((settle) => {
      const current = this.waiting.get(part.teamId)
      const group = current && current.events + part.events.length <= GROUP_MAX_EVENTS ? current : { events: 0, members: [] }
      group.events += part.events.length
      group.members.push({ events: part.events, batchId, joined: performance.now(), settle })
      if (group === current) return
      this.waiting.set(part.teamId, group)
      void this.runGroup(part.teamId, group, admission)
    })
  }

  /** Waits for the team's lease, then runs every member's events through the steps at once and stores each member's own. */
  private async runGroup(teamId: number, group: WaitingGroup, admission: Admission): Promise<void> {
    const lease = await admission.gate.enter(teamId)
    // Closed: a part arriving from now on waits in a group of its own.
    if (this.waiting.get(teamId) === group) this.waiting.delete(teamId)
    const entered = performance.now()
    for (const member of group.members) this.observe('wait', (entered - member.joined) / 1000)
    if (!lease) {
      for (const member of group.members) member.settle({ status: 'rejected', reason: new TeamBusyError(teamId) })
      return
    }
    const outcomes = await this.processParts(group.members, lease)
    group.members.forEach((member, i) => member.settle(outcomes[i]))
  }

  /** `release` goes back once the steps are done: see processTeam. */
  private async processParts(members: GroupMember[], release: TeamLease): Promise<PromiseSettledResult<TeamOutcome>[]> {
    let parts = members.map((m) => m.events)
    const started = performance.now()
    try {
      for (const step of this.steps) parts = step.runParts ? await step.runParts(parts) : await Promise.all(parts.map((events) => step.run(events)))
    } catch (reason) {
      return members.map(() => ({ status: 'rejected', reason }))
    } finally {
      release()
      this.observe('steps', (performance.now() - started) / 1000)
    }
    // Each member stored on its own: its batch is acknowledged once its own events are committed.
    return Promise.allSettled(members.map((member, i) => this.store(member.events, parts[i], member.batchId)))
  }

  /**
   * The team's lease goes back once its steps are done, before the store: what a team can make slow
   * or stuck is its plugins, and the store is the same work for every team. Its next pass then runs
   * its plugins while this one is stored, so a team's plugins are not idle for a store per pass.
   */
  private async processTeam(received: IngestEvent[], batchId: string, release: TeamLease): Promise<TeamOutcome> {
    let events = received
    const started = performance.now()
    try {
      for (const step of this.steps) events = await step.run(events)
    } finally {
      release()
      this.observe('steps', (performance.now() - started) / 1000)
    }
    return this.store(received, events, batchId)
  }

  /** The events as stored: the address as `$ip` (withIpProperty), or none for a team that anonymises IPs. */
  private async withAddresses(events: IngestEvent[]): Promise<IngestEvent[]> {
    const teams = new Set(events.map((e) => e.team_id))
    const anonymizing = new Set<number>()
    for (const team of teams) if (await this.anonymizing.anonymizes(team)) anonymizing.add(team)
    return events.map((e) => (anonymizing.has(e.team_id) ? withoutAddress(e) : withIpProperty(e)))
  }

  private async store(received: IngestEvent[], events: IngestEvent[], batchId: string): Promise<TeamOutcome> {
    const started = performance.now()
    // The exporters get what Postgres holds, not what this pass computed: a retry's plugins may compute
    // something else for an event already stored, and another event may reuse a stored uuid.
    const { stored, asStored } = await storeEvents(this.pool, await this.withAddresses(events))
    if (asStored.length > 0) for (const hook of this.afterStore) await hook(asStored, batchId)
    this.observe('store', (performance.now() - started) / 1000)
    return { stored, duplicates: events.length - stored, dropped: received.length - events.length }
  }
}

/** One lease per part of a batch of several teams, null for a part to defer; undefined leases (no admission) mean "run, nothing to release". */
function admit(parts: TeamPart[], admission: Admission | undefined): (TeamLease | undefined | null)[] {
  if (!admission) return parts.map(() => undefined)
  return parts.map((part) => admission.gate.tryEnter(part.teamId) ?? null)
}

function count(parts: TeamPart[]): number {
  return parts.reduce((n, part) => n + part.events.length, 0)
}

function noop(): void {}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason))
}
