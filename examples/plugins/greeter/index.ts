import type { PluginEvent, PluginMeta } from '@posthog/plugin-scaffold'

type Meta = PluginMeta<{ config: { greeting: string } }>

export const metrics = { greeted: 'sum' }

export async function processEvent(event: PluginEvent, { config, cache, metrics }: Meta) {
  event.properties = { ...event.properties, greeting: config.greeting }
  event.properties.events_by_person = await cache.incr(`count:${event.distinct_id}`)
  metrics.greeted.increment(1)
  return event
}

/** Shows the scheduler at work: one heartbeat event a minute, captured into the team's own stream. */
export async function runEveryMinute({ cache }: Meta) {
  const beats = await cache.incr('heartbeats')
  posthog.capture('greeter heartbeat', { beats })
}
