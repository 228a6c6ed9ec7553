import type Redis from 'ioredis'
import { Gauge, Registry } from 'prom-client'
import type { Logger } from './logger'

/**
 * The only maxmemory-policy under which a full Redis refuses writes instead of deleting keys: under
 * any other, BullMQ's job hashes and lists (events capture already acknowledged) can be evicted.
 */
export const REQUIRED_EVICTION_POLICY = 'noeviction'

/** From INFO memory, not CONFIG GET: managed Redis (ElastiCache, Memorystore, Azure) often disables CONFIG. */
export async function readEvictionPolicy(redis: Redis): Promise<string | null> {
  return /^maxmemory_policy:(\S+)/m.exec(await redis.info('memory'))?.[1] ?? null
}

/** Why `policy` loses events, or null for noeviction. */
export function evictionPolicyProblem(policy: string): string | null {
  if (policy === REQUIRED_EVICTION_POLICY) return null
  return (
    `Redis maxmemory-policy is ${policy}, not ${REQUIRED_EVICTION_POLICY}: a full Redis deletes keys to make room, ` +
    `queued jobs among them, so events capture acknowledged can be lost; set maxmemory-policy ${REQUIRED_EVICTION_POLICY}`
  )
}

export interface EvictionPolicyWatch {
  /** Reads the policy now (also each interval); a read that fails keeps the last one known. */
  check: () => Promise<void>
  /** The last policy read, null before the first read. */
  policy: () => string | null
  close: () => void
}

/**
 * Reads Redis' eviction policy once connected and every `intervalMs` (an operator can change it at
 * any time): one error line when it becomes one that evicts, redis_maxmemory_policy_info for alerts.
 * Readiness (runRole) fails while it evicts, so capture stops taking events Redis may drop.
 */
export function watchEvictionPolicy(redis: Redis, logger: Logger, registry: Registry, intervalMs: number): EvictionPolicyWatch {
  const gauge = new Gauge({
    name: 'redis_maxmemory_policy_info',
    help: `Redis maxmemory-policy as last read (1 on its label); anything but ${REQUIRED_EVICTION_POLICY} can evict queued events`,
    labelNames: ['policy'],
    registers: [registry],
  })
  let current: string | null = null
  let unreadableSaid = false
  // A Redis that refuses INFO (an ACL, a renamed command) or does not name the policy cannot be
  // checked: said once, so an operator knows the guard is off, and readiness does not depend on it.
  const unreadable = (why: string) => {
    if (unreadableSaid) return
    unreadableSaid = true
    logger.warn({ err: why }, `Redis maxmemory-policy could not be read (${why}), so it is not checked: make sure it is ${REQUIRED_EVICTION_POLICY}`)
  }
  const check = async () => {
    let policy: string | null
    try {
      policy = await readEvictionPolicy(redis)
    } catch (err) {
      // A lost connection is read again at the next 'ready'; a refusal is Redis' answer.
      if ((err as Error).name === 'ReplyError') unreadable((err as Error).message)
      return
    }
    if (policy === null) unreadable('INFO memory has no maxmemory_policy')
    if (policy === null || policy === current) return
    const was = current
    current = policy
    gauge.reset()
    gauge.set({ policy }, 1)
    const problem = evictionPolicyProblem(policy)
    if (problem) logger.error({ policy }, problem)
    else if (was !== null) logger.info({ policy, was }, `Redis maxmemory-policy is ${policy} again: queued events are no longer evicted`)
  }
  // At each (re)connection too: it may be to another node (a failover) with a policy of its own.
  const onReady = () => void check()
  redis.on('ready', onReady)
  if (redis.status === 'ready') onReady()
  const timer = setInterval(onReady, intervalMs)
  timer.unref()
  return {
    check,
    policy: () => current,
    close: () => {
      clearInterval(timer)
      redis.off('ready', onReady)
    },
  }
}
