import type Redis from 'ioredis'
import { redisKeys } from './redis-keys'

/** What changed; workers reload the named config, or every config of the team, or everything. */
export interface ReloadMessage {
  reason: string
  teamId?: number
  pluginConfigId?: number
  pluginId?: number
}

/** Pub/sub reaches every running worker at once; the periodic reconcile covers missed messages. */
export function reloadChannel(queuePrefix: string): string {
  return redisKeys(queuePrefix).reloadChannel()
}

export async function publishReload(redis: Redis, queuePrefix: string, message: ReloadMessage): Promise<void> {
  await redis.publish(reloadChannel(queuePrefix), JSON.stringify(message))
}

export function subscribeReload(subscriber: Redis, queuePrefix: string, onMessage: (message: ReloadMessage) => void): Promise<void> {
  const channel = reloadChannel(queuePrefix)
  subscriber.on('message', (from: string, raw: string) => {
    if (from !== channel) return
    try {
      onMessage(JSON.parse(raw) as ReloadMessage)
    } catch {
      // A malformed message cannot name what to reload; the periodic reconcile still catches up.
    }
  })
  return subscriber.subscribe(channel).then(() => undefined)
}
