import type { MetricOperation } from '../interfaces'

/** Metrics one plugin may declare (`export const metrics`). */
export const MAX_METRICS = 100
/** Characters of one metric name. */
export const MAX_METRIC_NAME_CHARS = 128
/** Characters of one job name (a key of `export const jobs`). */
export const MAX_JOB_NAME_CHARS = 200
/** What a metric name may be made of: each becomes a Redis hash field and a Prometheus label value of every scrape. */
const METRIC_NAME = /^[A-Za-z0-9_.: -]+$/

/** A name as an error shows it: quoted and short (a refused one may be of any length). */
export function shown(name: string): string {
  return JSON.stringify(name.length > 60 ? `${name.slice(0, 60)}…` : name)
}

/**
 * Refuses (throws, failing the load) what a plugin's module declared past the bounds above. The names
 * are whatever the module computes at load, not what plugin.json says: 20 000 metric names of 1 KB
 * each had made a 26 MB hash in Redis, outside the team's PLUGIN_TEAM_REDIS_LIMIT_MB, and 20 000
 * series on every /metrics scrape; BullMQ stores a job's name three times where its team's account
 * counts what it is given. Checked on the host, where the plugin's code cannot change the check.
 */
export function checkDeclaredNames(jobNames: readonly string[], metrics: Readonly<Record<string, MetricOperation>>): void {
  const metricNames = Object.keys(metrics)
  if (metricNames.length > MAX_METRICS) throw new Error(`exports ${metricNames.length} metrics, more than the limit of ${MAX_METRICS} per plugin`)
  for (const name of metricNames) {
    if (name.length > MAX_METRIC_NAME_CHARS) throw new Error(`metric name ${shown(name)} is longer than the limit of ${MAX_METRIC_NAME_CHARS} characters`)
    if (!METRIC_NAME.test(name)) throw new Error(`metric name ${shown(name)} may only hold letters, digits, spaces and _ - . : (ASCII)`)
  }
  for (const name of jobNames) {
    if (name.length > MAX_JOB_NAME_CHARS) throw new Error(`job name ${shown(name)} is longer than the limit of ${MAX_JOB_NAME_CHARS} characters`)
  }
}
