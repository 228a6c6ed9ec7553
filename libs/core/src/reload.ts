import type Redis from 'ioredis'
import { redisKeys } from './redis-keys'

/**
 * What changed; workers re-read every config of the named team, or else the named config, or else
 * every config of the named plugin, or everything when it names none (libs/plugin-runtime reload-scope.ts).
 */
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
