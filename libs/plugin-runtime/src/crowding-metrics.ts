import { Counter, Gauge, Registry } from 'prom-client'

// One set per registry, however many plugin managers (tests, roles) share it.
const byRegistry = new WeakMap<Registry, Counter>()

/**
 * `plugin_instances_evicted_for_room_total` and `plugin_max_live_instances`: a process that keeps
 * evicting idle instances to make room at PLUGIN_MAX_LIVE_INSTANCES sets its plugins up again and
 * again. The warning line says so once every five minutes; the counter lets an alert and a panel
 * see how often, pod by pod, next to `plugin_vm_live_isolates` and the cap itself. Exported at 0
 * from start-up, so increase() sees the first evictions.
 */
export function crowdingCounter(registry: Registry, maxLiveInstances: number): Counter {
  let counter = byRegistry.get(registry)
  if (!counter) {
    counter = new Counter({
      name: 'plugin_instances_evicted_for_room_total',
      help: 'Idle plugin instances torn down to make room for another at PLUGIN_MAX_LIVE_INSTANCES (each is set up again on its next use)',
      registers: [registry],
    })
    new Gauge({ name: 'plugin_max_live_instances', help: 'PLUGIN_MAX_LIVE_INSTANCES of this process', registers: [registry] }).set(maxLiveInstances)
    byRegistry.set(registry, counter)
  }
  return counter
}
