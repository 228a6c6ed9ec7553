import { Queue } from 'bullmq'
import type Redis from 'ioredis'
import type { DeliveryJobData } from './interfaces'
import { DELIVERIES_QUEUE, exportKeys, ExportKeys } from './keys'
import { admitPending, PendingCaps, PendingLimit } from './pending-events'
import type { PendingLimits } from './pending-limit-text'

/** What an exporter does with a live delivery there is no room for (EXPORT_MAX_PENDING_EVENTS, EXPORT_TEAM_…, EXPORT_FLEET_…). */
export interface DeliveryOverflow extends PendingLimits {
  /** Keeps the delivery's events elsewhere (a dead letter): `limit` it did not fit, with the events waiting there now. */
  spill(delivery: NewDelivery, limit: PendingLimit, pending: number): Promise<void>
}

export interface NewDelivery {
  /** Deterministic, so adding the same delivery twice (a redelivered hand-off, a retried flush) makes one job. */
  jobId: string
  data: DeliveryJobData
}

/**
 * Producer side of the deliveries queue. Retries are decided by the processor (RetryError only,
 * 15 within 24 h), so BullMQ's own attempt limit is only a backstop. Delivered jobs keep a stub
 * (no events) for an hour: long enough for a late duplicate add with the same id to be ignored.
 * Each config's unfinished jobs hold at most EXPORT_MAX_PENDING_EVENTS live events, a team's
 * together at most EXPORT_TEAM_MAX_PENDING_EVENTS and all teams' EXPORT_FLEET_MAX_PENDING_EVENTS: a
 * destination failing for hours would otherwise keep up to 24 h of the team's events in the Redis
 * every team shares (once per failing config); past any, new batches become dead letters at once
 * (replayable), and the queues stay writable.
 */
export class DeliveryQueue {
  readonly queue: Queue<DeliveryJobData>
  private readonly keys: ExportKeys

  /** Without `overflow` (the admin API's and CLI's, which add replays through `addIfRoom`) nothing is spilled, only counted. */
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly overflow: DeliveryOverflow | null = null,
  ) {
    this.queue = new Queue<DeliveryJobData>(DELIVERIES_QUEUE, {
      connection: redis,
      prefix,
      defaultJobOptions: {
        attempts: 1000,
        backoff: { type: 'export-retry' },
        removeOnComplete: { age: 3600 },
        removeOnFail: { age: 7 * 24 * 3600 },
      },
    })
    this.keys = exportKeys(prefix)
  }

  async add(deliveries: readonly NewDelivery[]): Promise<void> {
    if (deliveries.length === 0) return
    await this.enqueue(await this.admit(deliveries))
  }

  /** Adds deliveries already counted. */
  private async enqueue(kept: readonly NewDelivery[]): Promise<void> {
    if (kept.length === 0) return
    // Before the add: added after it, the entry of a job another exporter had already finished (and
    // taken out of the set) stayed for good, and the config's oldest pending batch aged for ever. A
    // crash in between leaves an entry without its job until the redelivered hand-off or flush adds it,
    // as it does for the counts taken in admit.
    const now = Date.now()
    const multi = this.redis.multi()
    for (const d of kept) multi.zadd(this.keys.pending(d.data.configId), 'NX', now, d.jobId)
    const added = ((await multi.exec()) ?? []).map(([, result]) => result === 1)
    try {
      await this.queue.addBulk(kept.map((d) => ({ name: d.data.method, data: d.data, opts: { jobId: d.jobId } })))
    } catch (error) {
      // Not added: the entries made for them go again (a caller that does not retry, a replay, would leave them for good).
      const undo = this.redis.multi()
      for (const [i, d] of kept.entries()) if (added[i]) undo.zrem(this.keys.pending(d.data.configId), d.jobId)
      await undo.exec().catch(() => undefined)
      throw error
    }
  }

  /**
   * Counts every delivery in its config's, its team's and all teams' pending events (before the add: a crash in
   * between is made good by the redelivered hand-off or flush, which finds it counted already). A
   * live one there is no room for goes to `overflow.spill` instead; historical pages (their run
   * waits for each) and replays (an operator's decision) are counted but never spilled.
   */
  private async admit(deliveries: readonly NewDelivery[]): Promise<NewDelivery[]> {
    const byConfig = new Map<number, NewDelivery[]>()
    for (const d of deliveries) {
      const group = byConfig.get(d.data.configId)
      if (group) group.push(d)
      else byConfig.set(d.data.configId, [d])
    }
    const isCapped = (d: NewDelivery) => this.overflow !== null && d.data.source.type === 'live'
    const kept: NewDelivery[] = []
    for (const [configId, group] of byConfig) {
      const owner = { configId, teamId: group[0].data.teamId }
      const capped = group.filter(isCapped)
      const free = group.filter((d) => !isCapped(d))
      const sizes = (ds: NewDelivery[]) => ds.map((d) => ({ jobId: d.jobId, events: d.data.events.length }))
      if (free.length > 0) {
        const { answers } = await admitPending(this.redis, this.prefix, this.keys, owner, NO_CAPS, sizes(free))
        kept.push(...free.filter((_, i) => answers[i] === 'admitted'))
      }
      if (capped.length === 0 || !this.overflow) continue
      const { pending, answers } = await admitPending(this.redis, this.prefix, this.keys, owner, liveCaps(this.overflow), sizes(capped))
      for (const [i, d] of capped.entries()) {
        const answer = answers[i]
        if (answer === 'admitted') kept.push(d)
        else if (answer !== 'finished') await this.overflow.spill(d, answer, pending[answer])
      }
    }
    return kept
  }

  /**
   * Adds the delivery only if its config, its team and all teams have room for it within half of
   * each limit (dead-letter replays: a team's backlog of any size would otherwise go to Redis at
   * once, and live batches keep the other half); answers the limit it did not fit, with the events
   * waiting there, or null once added (or delivered already). A refusal is not remembered: the same
   * delivery is looked at afresh next time.
   */
  async addIfRoom(delivery: NewDelivery, limits: PendingLimits): Promise<{ limit: PendingLimit; pending: number } | null> {
    const owner = { configId: delivery.data.configId, teamId: delivery.data.teamId }
    const job = { jobId: delivery.jobId, events: delivery.data.events.length }
    const { pending, answers } = await admitPending(this.redis, this.prefix, this.keys, owner, replayCaps(limits), [job], false)
    const [answer] = answers
    if (answer === 'admitted') await this.enqueue([delivery])
    else if (answer !== 'finished') return { limit: answer, pending: pending[answer] }
    return null
  }

  close(): Promise<void> {
    return this.queue.close()
  }
}

/** No cap at any level. */
export const NO_CAPS: PendingCaps = { config: 0, team: 0, fleet: 0 }

/** Each limit whole (0: none): what live deliveries and the exportEvents buffers may fill. */
export function liveCaps(limits: PendingLimits): PendingCaps {
  return { config: limits.maxPendingEvents, team: limits.maxTeamPendingEvents, fleet: limits.maxFleetPendingEvents }
}

/** Half of each limit (0 stays none): what replays may fill, so live batches keep the rest. */
export function replayCaps(limits: PendingLimits): PendingCaps {
  const half = (cap: number) => (cap === 0 ? 0 : Math.max(1, Math.floor(cap / 2)))
  const live = liveCaps(limits)
  return { config: half(live.config), team: half(live.team), fleet: half(live.fleet) }
}
