import assert from 'node:assert/strict'
import ivm from 'isolated-vm'
import { withSemiSpace } from '@plugin-server/plugin-vm'

const MiB = 1024 * 1024
const MEMORY_LIMIT_MB = 128

/**
 * MB the isolate's young generation may grow to: V8's heap limit is the old generation's (the memory
 * limit) plus the young one's, two semi-spaces and a new large-object space of the same size. Read
 * from the limit, not from a heap after some churn: how far a heap has grown depends on when V8 last
 * collected, which other work in the process changes.
 */
function youngGenerationMb(isolate: ivm.Isolate): number {
  try {
    return isolate.getHeapStatisticsSync().heap_size_limit / MiB - MEMORY_LIMIT_MB
  } finally {
    isolate.dispose()
  }
}

const make = () => new ivm.Isolate({ memoryLimit: MEMORY_LIMIT_MB })

describe('withSemiSpace', () => {
  it("gives the isolate a young generation of three semi-spaces of the size asked for, where isolated-vm's own sizing allows about 3 MB", () => {
    assert.ok(youngGenerationMb(withSemiSpace(0, make)) <= 3, "isolated-vm's sizing")
    assert.equal(youngGenerationMb(withSemiSpace(8, make)), 3 * 8)
    assert.equal(youngGenerationMb(withSemiSpace(16, make)), 3 * 16)
  })

  it('leaves isolates made after it with their own sizing: the V8 flag is put back', () => {
    const own = youngGenerationMb(make())
    youngGenerationMb(withSemiSpace(16, make))
    assert.equal(youngGenerationMb(make()), own)
  })

  it('puts the flag back when making the isolate fails', () => {
    const own = youngGenerationMb(make())
    assert.throws(
      () =>
        withSemiSpace(16, () => {
          throw new Error('no isolate')
        }),
      /no isolate/,
    )
    assert.equal(youngGenerationMb(make()), own)
  })
})
