/**
 * Hands host work's promises to isolated-vm's `applySyncPromise`, whose isolate thread sleeps until
 * the promise settles, and keeps isolated-vm 6.2 from writing into freed memory.
 *
 * isolated-vm's reaction to the promise writes the result into the waiting call's state, which lives
 * on the isolate thread. Disposing the isolate wakes that thread, which frees the state; a promise
 * settling after that (a host work thread stopped because the isolate was disposed, say) ran the
 * reaction on the freed state, and the process aborted (`std::system_error: Invalid argument`) or
 * crashed (SIGSEGV) — a whole worker lost, with every team's work in it, because one plugin's zlib
 * call was stopped at its deadline. The same happened when the dispose came after the settling but
 * before the reaction ran (it runs as a microtask).
 *
 * So: once the isolate is to be disposed, a promise handed over never settles (its reaction never
 * runs; the promise and its result are garbage), and a dispose asked for while a settling is on its
 * way to isolated-vm waits until its reaction has run (both on the main thread, in one microtask
 * checkpoint). And work asked for once the isolate is gone or going is refused at once, without a
 * promise: a dispose that came while the isolate thread was still copying the call's arguments out
 * found no wait to wake, and a promise that never settled would hold that thread for good.
 */
export class SyncPromiseGate {
  private closing = false
  /** Promises settled whose isolated-vm reaction has not run yet. */
  private delivering = 0
  private disposeWaiting = false

  /** The isolate the gate disposes; `isDisposed` also says whether isolated-vm disposed it by itself (its memory limit). */
  constructor(private readonly isolate: DisposableIsolate) {}

  /**
   * The promise to return to applySyncPromise for the work `start` begins; `transfer` makes the value
   * isolated-vm copies in, only for a promise that will reach it. Throws, starting nothing, once the
   * isolate is gone or going (isolated-vm then ends the wait with that error).
   */
  hand<T>(start: () => Promise<T>, transfer: (value: T) => unknown): Promise<unknown> {
    if (this.closing || this.isolate.isDisposed) throw new Error('the isolate was disposed')
    const work = start()
    const handed: Promise<unknown> = new Promise((resolve, reject) => {
      work.then(
        (value) => {
          if (this.closing) return
          let transferred: unknown
          try {
            transferred = transfer(value)
          } catch (error) {
            // A value that cannot be copied in: the call gets that error instead.
            return this.deliver(handed, () => reject(error))
          }
          this.deliver(handed, () => resolve(transferred))
        },
        (error: unknown) => this.deliver(handed, () => reject(error)),
      )
    })
    return handed
  }

  /** Disposes the isolate now, or as soon as the settlings on their way have reached isolated-vm. */
  close(): void {
    this.closing = true
    if (this.delivering === 0) this.dispose()
    else this.disposeWaiting = true
  }

  private dispose(): void {
    if (!this.isolate.isDisposed) this.isolate.dispose()
  }

  private deliver(handed: Promise<unknown>, settle: () => void): void {
    if (this.closing) return
    this.delivering++
    settle()
    // Reactions run in the order they were added: isolated-vm added its own when applySyncPromise got
    // the promise, so this one runs after it.
    const delivered = () => {
      if (--this.delivering > 0 || !this.disposeWaiting) return
      this.disposeWaiting = false
      this.dispose()
    }
    handed.then(delivered, delivered)
  }
}

/** What the gate needs of an isolated-vm Isolate. */
export interface DisposableIsolate {
  readonly isDisposed: boolean
  dispose(): void
}
