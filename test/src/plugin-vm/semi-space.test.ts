import assert from 'node:assert/strict'
import ivm from 'isolated-vm'
import { withSemiSpace } from '@plugin-server/plugin-vm'

const MiB = 1024 * 1024

/** The isolate's heap after its code made 2 000 000 short-lived objects: its young generation grows to what it may. */
function heapAfterChurn(isolate: ivm.Isolate): number {
  try {
    isolate.createContextSync().evalSync(`let kept = []; for (let i = 0; i < 2e6; i++) { kept.push({ i, s: 'x' + i }); if (kept.length > 1000) kept = [] }`)
    return isolate.getHeapStatisticsSync().total_heap_size / MiB
  } finally {
    isolate.dispose()
  }
}

const make = () => new ivm.Isolate({ memoryLimit: 128 })

describe('withSemiSpace', () => {
  it("lets a busy isolate's young generation grow to two semi-spaces of the size asked for, where isolated-vm's own sizing keeps it at 2 MB", () => {
    const own = heapAfterChurn(withSemiSpace(0, make))
    const eight = heapAfterChurn(withSemiSpace(8, make))
    assert.ok(own < 12, `isolated-vm's sizing: ${own.toFixed(1)} MB`)
    assert.ok(eight >= 16, `8 MB semi-spaces: ${eight.toFixed(1)} MB`)
  })

  it('leaves isolates made after it, and the process, with their own sizing: the V8 flag is put back', () => {
    heapAfterChurn(withSemiSpace(16, make))
    const after = heapAfterChurn(make())
    assert.ok(after < 12, `an isolate made after: ${after.toFixed(1)} MB`)
  })

  it('puts the flag back when making the isolate fails', () => {
    assert.throws(
      () =>
        withSemiSpace(16, () => {
          throw new Error('no isolate')
        }),
      /no isolate/,
    )
    const after = heapAfterChurn(make())
    assert.ok(after < 12, `an isolate made after: ${after.toFixed(1)} MB`)
  })
})
