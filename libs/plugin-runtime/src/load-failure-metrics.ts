import { Counter, Registry } from 'prom-client'
import { LOAD_FAILURE_REASONS, LoadFailureReason } from './load-failure-reason'

// One counter per registry, however many plugin managers (tests, roles) share it.
const byRegistry = new WeakMap<Registry, Counter<'reason'>>()

/** `plugin_load_failures_total{reason}`: load attempts that failed, by reason (a fixed set: no team, plugin or config labels). */
export function loadFailuresCounter(registry: Registry): Counter<'reason'> {
  let counter = byRegistry.get(registry)
  if (!counter) {
    counter = new Counter({
      name: 'plugin_load_failures_total',
      help: `Attempts to load a plugin config that failed, by reason (${LOAD_FAILURE_REASONS.join(', ')})`,
      labelNames: ['reason'],
      registers: [registry],
    })
    byRegistry.set(registry, counter)
  }
  return counter
}

export function countLoadFailure(registry: Registry | undefined, reason: LoadFailureReason): void {
  if (registry) loadFailuresCounter(registry).inc({ reason })
}
