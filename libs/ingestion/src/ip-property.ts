import type { IngestEvent } from '@plugin-server/core'

/**
 * Longer than any address (an IPv6 one with a zone is well under it): what a plugin put in `event.ip`
 * is then no address, and is not copied, which would double an event a plugin made as large as its
 * limit allows.
 */
const MAX_ADDRESS_LENGTH = 100

/**
 * The event as PostHog's plugin server (1.x) stored it: the client's address also as the `$ip`
 * property, unless the event has one (a client or a plugin set it) or has no address — its team
 * anonymises IPs (capture queued none), or a plugin removed `event.ip` (as PostHog's Property Filter
 * does to keep `$ip` out). Session recordings ($snapshot) are left as they are, as PostHog left
 * them. Done after the plugins, before the store, so exporters get it as stored; Try it does the
 * same to its output. A copy: the job's event is never changed in place.
 */
export function withIpProperty(event: IngestEvent): IngestEvent {
  const { ip } = event
  if (typeof ip !== 'string' || ip === '' || ip.length > MAX_ADDRESS_LENGTH) return event
  if (event.event === '$snapshot' || Object.prototype.hasOwnProperty.call(event.properties, '$ip')) return event
  return { ...event, properties: { ...event.properties, $ip: event.ip } }
}

/** The event without its address, for a team that anonymises IPs: as capture would have queued it. */
export function withoutAddress(event: IngestEvent): IngestEvent {
  return event.ip === null ? event : { ...event, ip: null }
}
