import { Registry, collectDefaultMetrics } from 'prom-client'

/** One registry per process; every role registers its metrics here and /metrics serves it. */
export function createRegistry(role: string): Registry {
  const registry = new Registry()
  registry.setDefaultLabels({ role })
  collectDefaultMetrics({ register: registry })
  return registry
}
