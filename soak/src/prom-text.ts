/**
 * The value of a metric in Prometheus text format: the sum over the samples whose labels include
 * every label given (so `queue_jobs{queue="ingest"}` adds up its states), or null when none match.
 */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | null {
  let total: number | null = null
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue
    const match = /^[^{\s]+(?:\{(.*)\})?\s+(\S+)/.exec(line)
    if (!match) continue
    const found = parseLabels(match[1] ?? '')
    if (Object.entries(labels).some(([k, v]) => found[k] !== v)) continue
    const value = Number(match[2])
    if (Number.isFinite(value)) total = (total ?? 0) + value
  }
  return total
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {}
  for (const m of text.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[m[1]] = m[2]
  return labels
}
