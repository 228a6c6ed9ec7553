import assert from 'node:assert/strict'
import ivm from 'isolated-vm'
import { withSemiSpace } from '@plugin-server/plugin-vm'
import { loadCode } from './helpers'

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

  it("is what a plugin's isolate is made with (semiSpaceMb): a busy plugin's isolate commits the young generation it grew", async () => {
    // 200 000 short-lived objects per event, 10 events a batch.
    const churn = `export function processEvent(e) { let kept = []; for (let i = 0; i < 2e5; i++) { kept.push({ i, s: 'x' + i }); if (kept.length > 1000) kept = [] } return e }`
    const batch = Array.from({ length: 10 }, (_, i) => JSON.stringify({ event: `e${i}`, properties: {} }))
    const committedMb = async (semiSpaceMb: number) => {
      const { instance } = await loadCode(churn, {}, { semiSpaceMb })
      try {
        await instance.processEventBatchJson(batch)
        return instance.stats().heapCommittedBytes / MiB
      } finally {
        instance.dispose()
      }
    }
    const own = await committedMb(0)
    const sixteen = await committedMb(16)
    // Two 16 MB semi-spaces, where isolated-vm's young generation is 2 MB in all.
    assert.ok(sixteen >= own + 16, `committed: ${sixteen.toFixed(1)} MB with 16 MB semi-spaces, ${own.toFixed(1)} MB with isolated-vm's sizing`)
  })
})
