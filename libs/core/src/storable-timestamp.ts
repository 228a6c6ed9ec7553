/**
 * Years 0001 to 9999: what Postgres' timestamptz reads back from `toISOString` (JavaScript dates
 * reach far beyond both ways, year 0 included, which Postgres does not have: one such event made a
 * whole batch's insert fail, every time it was retried).
 */
export const EARLIEST_STORABLE_TIME = Date.parse('0001-01-01T00:00:00Z')
/** The first time past them (exclusive). */
export const LATEST_STORABLE_TIME = Date.parse('+010000-01-01T00:00:00Z')

/** Whether a time in epoch milliseconds can be stored as an event's timestamp. */
export function isStorableTime(ms: number): boolean {
  return ms >= EARLIEST_STORABLE_TIME && ms < LATEST_STORABLE_TIME
}
