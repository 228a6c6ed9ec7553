const DAY_MS = 86_400_000

/** Daily partitions are named after their UTC day; the migration (0007) uses the same scheme. */
export const DAILY_PARTITION = /^events_p(\d{4})(\d{2})(\d{2})$/

/** The start (00:00 UTC) of the day `date` falls in. */
export function utcDayStart(date: Date): Date {
  return new Date(Math.floor(date.getTime() / DAY_MS) * DAY_MS)
}

export function addDays(date: Date, days: number): Date {
  return new Date(date.getTime() + days * DAY_MS)
}

/** events_pYYYYMMDD of the UTC day `day` falls in. */
export function eventsPartitionName(day: Date): string {
  const iso = utcDayStart(day).toISOString()
  if (!/^\d{4}-/.test(iso)) throw new Error(`no daily events partition for ${iso}: only years 0000 to 9999 have one`)
  return `events_p${iso.slice(0, 10).replaceAll('-', '')}`
}
