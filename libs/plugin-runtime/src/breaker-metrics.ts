import { Counter, Registry } from 'prom-client'
import type { PluginLimitKind } from '@plugin-server/plugin-vm'

// One counter per registry, however many plugin managers (tests, roles) share it.
const byRegistry = new WeakMap<Registry, Counter<'reason'>>()

/** `plugin_breaker_disabled_total{reason}`: configs the circuit breaker disabled, by the limit of the last breach. */
export function breakerDisabledCounter(registry: Registry): Counter<'reason'> {
  let counter = byRegistry.get(registry)
  if (!counter) {
    counter = new Counter({
      name: 'plugin_breaker_disabled_total',
      help: 'Plugin configs disabled by the server for breaching their limits repeatedly, by the kind of the last breach (time, memory, cpu)',
      labelNames: ['reason'],
      registers: [registry],
    })
    // Every reason from zero: a series that first appears at 1 shows no increase, and alerts would miss it.
    for (const reason of ['time', 'memory', 'cpu'] satisfies PluginLimitKind[]) counter.inc({ reason }, 0)
    byRegistry.set(registry, counter)
  }
  return counter
}

export function countBreakerDisabled(registry: Registry | undefined, kind: PluginLimitKind): void {
  if (registry) breakerDisabledCounter(registry).inc({ reason: kind })
}
