import { Gauge, Registry } from 'prom-client'
import { liveIsolateCount } from '@plugin-server/plugin-vm'

// One gauge per registry, however many plugin runtimes (tests, roles) share it.
const registered = new WeakSet<Registry>()

/**
 * `plugin_vm_live_isolates`: isolates the process holds, read at scrape time. It should follow the
 * number of enabled configs the role runs; a count that keeps rising across reloads is a leak
 * (npm run soak holds every role to it).
 */
export function registerLiveIsolatesGauge(registry: Registry): void {
  if (registered.has(registry)) return
  registered.add(registry)
  new Gauge({
    name: 'plugin_vm_live_isolates',
    help: 'isolated-vm isolates created by this process and not yet disposed',
    registers: [registry],
    collect() {
      this.set(liveIsolateCount())
    },
  })
}
