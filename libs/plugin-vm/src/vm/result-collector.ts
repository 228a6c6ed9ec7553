import v8 from 'v8'
import { runInNewContext } from 'vm'

/**
 * A call's result of 1 KB or more reaches the host as an external string (isolated-vm's), whose
 * bytes are outside the host's V8 heap and not reported to it. A result that lived long enough to be
 * promoted (a batch held across an await) is then freed only by a major GC, which a host with a
 * small heap rarely needs: 50 busy isolates after 40 batches of 200 page views each left 661 MB of
 * external strings in a host whose heap was 31 MB. Counting the results' characters across the
 * process, the collector runs one major GC of the host once they reach `minBytes`, or `heapFactor`
 * times the heap the last collection left if that is more: a GC costs about its live heap (≈ 50 ms
 * for 75 MB), so a worker with a large heap collects less often, as V8 itself grows its limits.
 * The host-side twin of the sandbox's GC after every 4 MB passed in.
 */
export class ResultCollector {
  private bytes = 0
  private gc: (() => void) | undefined
  private threshold: number

  constructor(
    private readonly minBytes: number,
    private readonly heapFactor = 4,
  ) {
    this.threshold = minBytes
  }

  /** Characters of results still to come before the next collection. */
  get nextCollectionAfter(): number {
    return this.threshold - this.bytes
  }

  received(result: string): void {
    this.bytes += result.length
    if (this.bytes < this.threshold) return
    this.bytes = 0
    this.collect()
    this.threshold = Math.max(this.minBytes, this.heapFactor * v8.getHeapStatistics().used_heap_size)
  }

  private collect(): void {
    if (this.gc === undefined) {
      // Node's main context predates the flag; a context made after it gets `gc`, which collects the
      // whole heap. Set here too so this does not depend on the order modules are loaded in.
      v8.setFlagsFromString('--expose-gc')
      this.gc = runInNewContext('gc') as () => void
    }
    this.gc()
  }
}

/** One per process: the external strings of every isolate's results are the host's, whichever config they came from. */
export const resultCollector = new ResultCollector(128 * 1024 * 1024)
