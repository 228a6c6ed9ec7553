/**
 * A plugin function the host may call: an id the sandbox maps back to the function. `fn` is the
 * same for every pass of one function, so `off(event, listener)` finds what `on` registered.
 */
export class Callback {
  constructor(
    readonly id: number,
    readonly fn: number,
    private readonly send: (id: number, args: unknown[]) => void,
  ) {}

  /** Queues the call into the isolate; never throws into the SDK that called it. */
  call(...args: unknown[]): void {
    this.send(this.id, args)
  }
}
