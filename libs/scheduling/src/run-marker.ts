import type Redis from 'ioredis'
import { schedulingKeys } from './scheduling-keys'

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`

/**
 * Marks the run of a chain in progress, independently of BullMQ's lock, so that an overlap (which
 * the chain design rules out) would be seen and counted rather than assumed away. The TTL covers
 * the longest run (sandbox deadline) plus the lease, so a crashed run's mark expires by itself; a
 * takeover of the same job id is not an overlap.
 */
export class RunMarker {
  constructor(
    private readonly redis: Redis,
    private readonly queuePrefix: string,
    private readonly ttlMs: number,
  ) {}

  /** True when another run of the chain was marked running: an overlap. */
  async enter(chain: string, jobId: string): Promise<boolean> {
    const key = schedulingKeys.running(this.queuePrefix, chain)
    if ((await this.redis.set(key, jobId, 'PX', this.ttlMs, 'NX')) === 'OK') return false
    const holder = await this.redis.get(key)
    await this.redis.set(key, jobId, 'PX', this.ttlMs)
    return holder !== null && holder !== jobId
  }

  async leave(chain: string, jobId: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, schedulingKeys.running(this.queuePrefix, chain), jobId)
  }
}
