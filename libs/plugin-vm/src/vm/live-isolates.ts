import type ivm from 'isolated-vm'

// Weak, so that counting an isolate never keeps it alive: a leaked isolate stays counted only as
// long as something else still holds it, which is the leak the count is there to show.
const created = new Set<WeakRef<ivm.Isolate>>()

export function trackIsolate(isolate: ivm.Isolate): void {
  created.add(new WeakRef(isolate))
}

/** Isolates this process created and has not disposed (or lost to the garbage collector). */
export function liveIsolateCount(): number {
  for (const ref of created) {
    const isolate = ref.deref()
    if (!isolate || isolate.isDisposed) created.delete(ref)
  }
  return created.size
}
