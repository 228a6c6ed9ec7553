/**
 * The server's own stores failing under an instance's host calls, as its host classified them
 * (PluginHost.storeFailure). Host calls carry no call id, so a call counts every failure recorded
 * while it ran: with calls of one instance overlapping, a call that failed for its own reason during
 * a store failure is retried too, which costs a retry and never an event.
 */
export class StoreFailures {
  private count = 0
  private last = ''

  record(cause: string): void {
    this.count++
    this.last = cause
  }

  /** Where a call starts: `since(mark)` then tells what failed after it. */
  mark(): number {
    return this.count
  }

  /** The last store failure recorded after `mark`, or null when there was none. */
  since(mark: number): string | null {
    return this.count > mark ? this.last : null
  }
}
