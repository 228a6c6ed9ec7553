import type ivm from 'isolated-vm'

/** What the count needs of an isolate. */
type Tracked = Pick<ivm.Isolate, 'isDisposed'>

/**
 * Isolates created and not disposed. Weak, so that counting an isolate never keeps it alive: a
 * leaked isolate stays counted only as long as something else still holds it, which is the leak the
 * count is there to show. Pruned when counted and whenever the set has doubled since the last prune:
 * pruned only when counted, a process nothing scrapes (capture's Try it, METRICS_PORT=-1) kept an
 * entry for every isolate it ever made.
 */
export class LiveIsolates {
  private readonly created = new Set<WeakRef<Tracked>>()
  private prunedAt = 0

  track(isolate: Tracked): void {
    this.created.add(new WeakRef(isolate))
    if (this.created.size >= Math.max(64, 2 * this.prunedAt)) this.prune()
  }

  count(): number {
    this.prune()
    return this.created.size
  }

  /** Entries held, disposed isolates not yet pruned included. */
  get entries(): number {
    return this.created.size
  }

  private prune(): void {
    for (const ref of this.created) {
      const isolate = ref.deref()
      if (!isolate || isolate.isDisposed) this.created.delete(ref)
    }
    this.prunedAt = this.created.size
  }
}

const thisProcess = new LiveIsolates()

export function trackIsolate(isolate: ivm.Isolate): void {
  thisProcess.track(isolate)
}

/** Isolates this process created and has not disposed (or lost to the garbage collector). */
export function liveIsolateCount(): number {
  return thisProcess.count()
}
