/** One request's share of a BodyBudget. */
export interface BodyHold {
  /** Holds `bytes` in place of what it held; false (holding what it held) if the budget has no room. */
  resize(bytes: number): boolean
  /** Gives everything back; again is harmless. */
  release(): void
}

/**
 * The bytes of request bodies one process holds at once: capture's (CAPTURE_MAX_IN_FLIGHT_MB) raw
 * while a body is read, then decoded once it is decompressed, until the request is answered; and,
 * in a budget of its own, the admin API's (libs/admin-api create-admin-api.ts).
 * Without it a few small gzip bodies that inflate to the body limit each, sent at once, took a
 * process to 1.3 GB before their token was even looked up. A request that finds no room is
 * answered 503 and retried by the client; a request alone is always let through, however large
 * (CAPTURE_MAX_BODY_BYTES bounds it), so a limit below the body limit cannot refuse everything.
 *
 * A quarter of the limit is kept for small requests (64 KiB or less, and at most a thirty-second of
 * the limit; SDK batches are kilobytes): large ones together may hold only the rest, beyond the one
 * let through alone. Else two large uploads held open by anyone, no token needed, filled the budget
 * and every team's requests were refused until their bodies timed out; at a thirty-second of the
 * default limit (1 MiB) thirty-two such uploads still counted as small and filled it.
 */
const SMALL_REQUEST_BYTES = 64 * 1024

export class BodyBudget {
  private held = 0
  /** Of `held`, what requests larger than `smallBytes` hold. */
  private heldLarge = 0
  private readonly smallBytes: number
  private readonly largeLimit: number

  /** `limitBytes` 0: no limit. `changed` hears the bytes held after each change (a gauge). */
  constructor(
    readonly limitBytes: number,
    private readonly changed: (bytes: number) => void = () => undefined,
  ) {
    this.smallBytes = Math.min(SMALL_REQUEST_BYTES, Math.floor(limitBytes / 32))
    this.largeLimit = limitBytes - Math.floor(limitBytes / 4)
  }

  get bytes(): number {
    return this.held
  }

  hold(): BodyHold {
    let mine = 0
    const large = (bytes: number) => (bytes > this.smallBytes ? bytes : 0)
    return {
      resize: (bytes) => {
        const others = this.held - mine
        const otherLarge = this.heldLarge - large(mine)
        if (bytes > mine && this.limitBytes > 0) {
          if (others > 0 && others + bytes > this.limitBytes) return false
          if (otherLarge > 0 && otherLarge + large(bytes) > this.largeLimit) return false
        }
        this.held = others + bytes
        this.heldLarge = otherLarge + large(bytes)
        mine = bytes
        this.changed(this.held)
        return true
      },
      release: () => {
        if (mine === 0) return
        this.held -= mine
        this.heldLarge -= large(mine)
        mine = 0
        this.changed(this.held)
      },
    }
  }
}
