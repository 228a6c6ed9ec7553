/** Events (and the jobs named after them) are told apart by team and uuid: a uuid is unique only within its team. */
export function eventKey(teamId: number, uuid: string): string {
  return `${teamId}:${uuid}`
}

/** The keys of `expected` that `present` does not have, in order. */
export function missing(expected: Iterable<string>, present: { has: (key: string) => boolean }): string[] {
  return [...expected].filter((key) => !present.has(key))
}
