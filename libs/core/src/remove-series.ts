import type { Counter, Gauge, Histogram, LabelValues } from 'prom-client'

/**
 * Removes every series of `metric` whose `label` has `value` (all its other label sets with it): for
 * a per-config series whose config was deleted, which would otherwise be exported until the process
 * restarts.
 */
export async function removeSeries<T extends string>(metric: Counter<T> | Gauge<T> | Histogram<T>, label: T, value: string): Promise<void> {
  const { values } = await metric.get()
  for (const { labels } of values) {
    if (String(labels[label]) !== value) continue
    // A histogram's buckets carry `le` besides the series' own labels.
    const own: Record<string, string | number | undefined> = { ...labels }
    delete own.le
    metric.remove(own as LabelValues<T>)
  }
}
