/**
 * Runs `fn` with this process's clock `days` ahead (`new Date()` and `Date.now()`), as on a pod
 * whose clock is wrong; dates made from a value stay as they are (pg's parsed timestamps among them).
 */
export async function withClockAhead<T>(days: number, fn: () => Promise<T>): Promise<T> {
  const RealDate = Date
  const ahead = () => RealDate.now() + days * 86_400_000
  class AheadDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(ahead())
      else super(...(args as [number, number, number, number, number, number, number]))
    }
    static override now = ahead
  }
  globalThis.Date = AheadDate as DateConstructor
  try {
    return await fn()
  } finally {
    globalThis.Date = RealDate
  }
}
