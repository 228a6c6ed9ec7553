import { parseDate } from '@plugin-server/core'
import { InvalidArgumentError } from 'commander'

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/**
 * ISO 8601, or relative to now: 30m, 2h, 7d. A time without a zone is UTC, as the events' days are
 * (`Date.parse` read `2024-05-01T00:00` in the local zone of wherever the CLI ran).
 */
export function parseTime(value: string): Date {
  const relative = /^(\d+)([smhd])$/.exec(value.trim())
  if (relative) return new Date(Date.now() - Number(relative[1]) * UNITS[relative[2]])
  const time = parseDate(value)
  if (time === null) throw new InvalidArgumentError('expected an ISO 8601 time (2024-05-01T00:00:00Z) or a relative one (30m, 2h, 7d)')
  return time
}
