/**
 * Whether a budget's window begun at `start` (Date.now) is over at `now`: also when the wall clock
 * stepped back before its start (NTP, a restored VM), which kept the window open until the clock
 * caught up again, an hour for a step of an hour, the plugin's background CPU and captures adding
 * up all that time against one minute's budget.
 */
export function windowOver(now: number, start: number, windowMs: number): boolean {
  return now - start >= windowMs || now < start
}
