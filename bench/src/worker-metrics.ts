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
