import { Counter, Gauge, Registry } from 'prom-client'
import type { TeamMemoryBudget } from './team-memory-budget'

export interface TeamMemoryMetrics {
  exceeded: Counter
  processExceeded: Counter
  /** The budgets read at scrape time: a manager adds its own and deletes it when it closes. */
  budgets: Set<TeamMemoryBudget>
}

// One pair per registry, however many plugin managers (tests, roles) share it.
const byRegistry = new WeakMap<Registry, TeamMemoryMetrics>()

/**
 * `plugin_team_memory_exceeded_total`: isolates disposed because their team's plugins held more
 * than PLUGIN_TEAM_MEMORY_LIMIT_MB together; `plugin_team_memory_largest_bytes`: the most one
 * team's isolates hold together in this process, read at scrape time (how close the budget is);
 * `plugin_process_memory_unloaded_total` and `plugin_process_memory_bytes`: the same for every
 * team's isolates together against PLUGIN_PROCESS_MEMORY_LIMIT_MB.
 */
export function teamMemoryMetrics(registry: Registry): TeamMemoryMetrics {
  let metrics = byRegistry.get(registry)
  if (!metrics) {
    const budgets = new Set<TeamMemoryBudget>()
    metrics = {
      budgets,
      exceeded: new Counter({
        name: 'plugin_team_memory_exceeded_total',
        help: "Isolates disposed because their team's plugins held more than PLUGIN_TEAM_MEMORY_LIMIT_MB together in this process",
        registers: [registry],
      }),
      processExceeded: new Counter({
        name: 'plugin_process_memory_unloaded_total',
        help: 'Isolates unloaded because the plugins of all teams held more than PLUGIN_PROCESS_MEMORY_LIMIT_MB together in this process',
        registers: [registry],
      }),
    }
    new Gauge({
      name: 'plugin_process_memory_bytes',
      help: "Heap (used + external) every team's live isolates hold together in this process above an idle isolate's own, at their last readings (against PLUGIN_PROCESS_MEMORY_LIMIT_MB)",
      registers: [registry],
      collect() {
        this.set([...budgets].reduce((n, b) => n + b.processBytes(), 0))
      },
    })
    new Gauge({
      name: 'plugin_team_memory_largest_bytes',
      help: 'Heap (used + external) the team holding the most holds across its live isolates in this process, at their last readings',
      registers: [registry],
      collect() {
        this.set(Math.max(0, ...[...budgets].map((b) => b.largestTeamBytes())))
      },
    })
    byRegistry.set(registry, metrics)
  }
  return metrics
}
