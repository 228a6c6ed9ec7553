/** Reading `then` runs plugin code (a getter), so callers catch. */
export function isThenable(value: unknown): boolean {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function'
}

/**
 * Calls `onValue` or `onError` once. `await` follows a native promise without looking up `then` or
 * Promise[Symbol.species], which the plugin may have replaced; any other thenable is followed with
 * its own `then`, as PostHog's `await` did. Never rejects: nobody waits on it.
 */
export async function whenSettled(value: unknown, onValue: (v: unknown) => void, onError: (e: unknown) => void): Promise<void> {
  let result: unknown
  try {
    result = await value
  } catch (error) {
    onError(error)
    return
  }
  onValue(result)
}
