const UNIT_MS: Record<string, number> = {
  millisecond: 1,
  second: 1000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 7 * 86_400_000,
  month: 30 * 86_400_000,
  quarter: 91 * 86_400_000,
  year: 365 * 86_400_000,
}

/** `runIn(3, 'minutes')` → a Date; units are accepted singular or plural, as the contract says. */
export function jobRunAt(kind: string, value: unknown, unit: unknown, now = Date.now()): Date {
  if (kind === 'now') return new Date(now)
  if (kind === 'at') {
    const at = new Date(Number(value))
    if (Number.isNaN(at.getTime())) throw new TypeError('runAt: invalid date')
    return at
  }
  const name = String(unit).toLowerCase().replace(/s$/, '')
  const ms = UNIT_MS[name]
  if (ms === undefined) throw new TypeError(`runIn: unknown unit "${String(unit)}"`)
  const amount = Number(value)
  if (!Number.isFinite(amount)) throw new TypeError('runIn: duration must be a number')
  // A time already past runs now, as in PostHog: plugins pass computed delays (`next - Date.now()`).
  const at = new Date(now + Math.max(0, amount) * ms)
  // An invalid Date here became a delay of NaN, which Redis refused as "min or max is not a float", naming nothing.
  if (Number.isNaN(at.getTime()))
    throw new RangeError(`runIn(${amount}, ${JSON.stringify(String(unit))}): that is after +275760-09-13, the last date JavaScript has`)
  return at
}
