import type { PluginCache } from '../interfaces'
import { holdBytes, releaseBytes, roomIn, sharedFull, wouldPass, type ByteBudget, type SharedByteBudget } from '../byte-budget'
import { failure, type HostReply } from './host-reply'
import type { StoreBounds } from './store-bounds'

/**
 * A plugin's `cache.get` calls, as the host answers them. Each call asks for its key only; the host
 * answers the stored text and the sandbox decodes it for its caller (default, `jsonSerialize`), so:
 * - a key is read once per crossing however many callers ask for it (the others' replies point at
 *   the first, `same`): 10 000 reads of a 1 MB value in one turn had Redis send 10 000 copies, the
 *   host parse each, and hold every parsed copy until the isolate had them;
 * - what the host holds for the instance is bounded by `budget` (PLUGIN_HOST_WORK_MAX_BYTES): a
 *   crossing reserves up to a share of it before it is sent, the cache reads no more than that
 *   (decided in Redis before anything is sent), and what was read stays counted until the sandbox
 *   says it has it (`cache.taken`). A plugin that keeps the isolate busy while its reads come back,
 *   or breaks the sandbox's acknowledgement, is refused its own reads; nothing it does makes the host
 *   hold more.
 * Reads are sent when they are asked, in the crossing's order: a read waiting for room would let a
 * later write overtake it.
 */
export class CacheReads {
  /** Bytes of each answer the sandbox has not acknowledged, by id. */
  private readonly held = new Map<number, number>()
  private nextId = 0
  private closed = false

  constructor(
    private readonly cache: PluginCache,
    private readonly store: StoreBounds,
    private readonly budget: ByteBudget,
    /** The most one crossing reserves: the largest value a plugin may store, or a quarter of the budget if more. */
    private readonly shareBytes: number,
  ) {}

  /**
   * The replies to one crossing's run of `cache.get` calls (each call's arguments: the key), the run
   * starting at `offset` in the crossing. `failed` turns a store's error into the reply recording it.
   */
  async read(calls: readonly unknown[][], offset: number, failed: (error: unknown) => HostReply): Promise<HostReply[]> {
    const replies: HostReply[] = []
    const firstAsked = new Map<string, number>()
    const keys: string[] = []
    const askers: number[] = []
    for (const [i, args] of calls.entries()) {
      let key: string
      try {
        key = this.store.key('cache.get', args[0])
      } catch (error) {
        replies[i] = failure(error)
        continue
      }
      const first = firstAsked.get(key)
      if (first !== undefined) {
        replies[i] = { ok: true, same: offset + first }
        continue
      }
      firstAsked.set(key, i)
      keys.push(key)
      askers.push(i)
    }
    if (keys.length === 0) return replies
    const reserved = Math.min(this.shareBytes, roomIn(this.budget))
    // The team's or the process's bound, when it is what left less than a share: refusals name it.
    const short = reserved < this.shareBytes ? sharedFull(this.budget, this.shareBytes) : null
    holdBytes(this.budget, reserved)
    let answers: (string | null | Error | undefined)[]
    try {
      answers = await this.cache.readMany(keys, reserved)
    } catch (error) {
      releaseBytes(this.budget, reserved)
      for (const i of askers) replies[i] = failed(error)
      return replies
    }
    let bytes = 0
    for (const answer of answers) if (typeof answer === 'string') bytes += answer.length
    // What was read stays held out of the reservation, the rest given back: holding it again could
    // now fail (the team's other instances may have taken it past the process's reserve meanwhile).
    let kept: boolean
    if (!this.closed && bytes <= reserved) {
      releaseBytes(this.budget, reserved - bytes)
      kept = true
    } else {
      releaseBytes(this.budget, reserved)
      kept = !this.closed && holdBytes(this.budget, bytes)
    }
    let id: number | undefined
    if (kept && bytes > 0) this.held.set((id = ++this.nextId), bytes)
    for (const [j, i] of askers.entries()) {
      const answer = answers[j]
      if (answer instanceof Error) replies[i] = failed(answer)
      else if (answer === undefined || (!kept && answer !== null))
        replies[i] = failure(
          this.refusal(
            keys[j],
            answer === undefined ? short : sharedFull(this.budget, bytes),
            answer === undefined ? this.shareBytes : bytes,
            answer === undefined,
          ),
        )
      else replies[i] = { ok: true, value: answer }
    }
    // On one reply of the crossing's: the sandbox acknowledges it once it has them all.
    if (id !== undefined) replies[askers[0]].taken = id
    return replies
  }

  /**
   * The instance is gone: nothing it was sent counts any more, nor does what is still being read.
   * Its budget may sit within its team's, which outlives it.
   */
  close(): void {
    this.closed = true
    for (const id of [...this.held.keys()]) this.taken(id)
  }

  /** The sandbox has the answers counted under `id`: they no longer count. */
  taken(id: number): void {
    const bytes = this.held.get(id)
    if (bytes === undefined) return
    this.held.delete(id)
    releaseBytes(this.budget, bytes)
  }

  /** `shared`: the team's or the process's budget, when that was the bound rather than the instance's own, for `bytes` more. */
  private refusal(key: string, shared: SharedByteBudget | null, bytes: number, atOnce: boolean): RangeError {
    const shown = JSON.stringify(key.length > 100 ? `${key.slice(0, 100)}…` : key)
    if (shared) return this.store.refusal(`cache.get(${shown}) refused: ${wouldPass(shared, bytes, this.budget)}`, shared.variable)
    const problem = atOnce
      ? `cache.get(${shown}) refused: the values read at once come to more than this plugin may read at once (${this.shareBytes} bytes, or what is left of ${this.budget.limit} while other reads are held)`
      : `cache.get(${shown}) refused: the values this plugin has read and not yet received come to more than ${this.budget.limit} bytes`
    return this.store.refusal(problem, 'PLUGIN_HOST_WORK_MAX_BYTES')
  }
}
