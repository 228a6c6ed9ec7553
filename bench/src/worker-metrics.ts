/** A role's /metrics as name → first value (labels ignored): enough for the gauges and counters the benches read. */
export async function workerMetrics(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  const values = new Map<string, number>()
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(?:\{[^}]*\})? ([0-9.e+-]+)$/.exec(line)
    if (match && !values.has(match[1])) values.set(match[1], Number(match[2]))
  }
  return values
}

/** One stage's observations of `ingest_stage_seconds`: how many, and their seconds added up. */
export interface StageTotals {
  count: number
  seconds: number
}

/** A role's `ingest_stage_seconds` per stage (wait, steps, store), from its /metrics. */
export async function workerStages(port: number): Promise<Map<string, StageTotals>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  const stages = new Map<string, StageTotals>()
  for (const [, part, labels, value] of text.matchAll(/^ingest_stage_seconds_(sum|count)\{([^}]*)\} ([0-9.e+-]+)$/gm)) {
    const stage = /stage="([^"]*)"/.exec(labels)?.[1]
    if (stage === undefined) continue
    const totals = stages.get(stage) ?? { count: 0, seconds: 0 }
    if (part === 'sum') totals.seconds += Number(value)
    else totals.count += Number(value)
    stages.set(stage, totals)
  }
  return stages
}
