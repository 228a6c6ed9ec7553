/** A set of events or jobs that one comparison of the run singled out. */
export interface Discrepancy {
  /** What the ids have in common, e.g. "acknowledged by capture, not stored". */
  name: string
  /** Event keys (team:uuid), or job descriptions. */
  ids: string[]
  /** Whether these ids break an invariant of the run; if not, they are only reported. */
  breaks: boolean
  /** Where the first ids were found afterwards (see locateInRedis), by id. */
  whereabouts?: Map<string, string>
}

/** How many ids a report names per discrepancy. */
export const SAMPLE = 5

export function discrepancy(name: string, ids: string[], breaks: boolean): Discrepancy {
  return { name, ids, breaks }
}

export function summarize(d: Discrepancy): string {
  const more = d.ids.length > SAMPLE ? `, … ${d.ids.length - SAMPLE} more` : ''
  const named = d.ids.slice(0, SAMPLE).map((id) => (d.whereabouts?.has(id) ? `${id} ${d.whereabouts.get(id)}` : id))
  return `${d.name}: ${d.ids.length} (${named.join(', ')}${more})`
}
