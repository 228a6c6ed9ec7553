import { Gauge, Registry } from 'prom-client'
import type { TeamSharedBounds } from './team-shared-bounds'

// One pair per registry, however many plugin managers (tests, roles) share it; each adds its bounds.
const byRegistry = new WeakMap<Registry, Set<TeamSharedBounds>>()

/**
 * `plugin_sockets_open` and `plugin_host_held_bytes`: what every team's plugins hold in this
 * process, read at scrape time against PLUGIN_MAX_SOCKETS and PLUGIN_HELD_MAX_MB. Answers the set of
 * bounds read: a manager adds its own and deletes it when it closes.
 */
export function sharedBoundsMetrics(registry: Registry): Set<TeamSharedBounds> {
  let bounds = byRegistry.get(registry)
  if (!bounds) {
    const read = (bounds = new Set<TeamSharedBounds>())
    new Gauge({
      name: 'plugin_sockets_open',
      help: "Sockets every team's plugins have open in this process (against PLUGIN_MAX_SOCKETS; each team's against PLUGIN_TEAM_MAX_SOCKETS)",
      registers: [registry],
      collect() {
        this.set([...read].reduce((n, b) => n + b.holding().sockets, 0))
      },
    })
    new Gauge({
      name: 'plugin_host_held_bytes',
      help: "Bytes the host holds for every team's plugins in this process outside their isolates: responses being read, cache values read and not yet received, uploads not yet sent (against PLUGIN_HELD_MAX_MB)",
      registers: [registry],
      collect() {
        this.set([...read].reduce((n, b) => n + b.holding().heldBytes, 0))
      },
    })
    byRegistry.set(registry, bounds)
  }
  return bounds
}
