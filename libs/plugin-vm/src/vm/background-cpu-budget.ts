import { windowOver } from './window-over'

const NS_PER_MS = 1_000_000n

/**
 * CPU an isolate uses while none of its calls is in flight: timer callbacks, SDK callbacks and the
 * promise continuations they leave behind (which isolated-vm runs with no time limit). Sampled from
 * the isolate's CPU clock at every call boundary, after every background run and once a second
 * (see CpuSampler); host time spent inline for the isolate is added. Over `budgetMs` within one
 * window → `onExceeded`, once.
 *
 * CPU used while a call is in flight counts as the call's, even when a timer ran in between: calls
 * have their own deadline, and charging a timer for the batch it queued behind would disable
 * well-behaved plugins whose buffers flush on a timer.
 */
export class BackgroundCpuBudget {
  private calls = 0
  private lastCpuNs: bigint
  private windowStart = 0
  private usedNs = 0n
  private exceeded = false

  constructor(
    /** The isolate's CPU clock in ns; undefined once it is disposed. */
    private readonly readCpuNs: () => bigint | undefined,
    readonly budgetMs: number,
    private readonly onExceeded: () => void,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {
    this.lastCpuNs = readCpuNs() ?? 0n
  }

  /** Background CPU used in the current window, in ms. */
  get usedMs(): number {
    return Number(this.usedNs / 1000n) / 1000
  }

  callStarted(): void {
    this.sample()
    this.calls++
  }

  callEnded(): void {
    this.sample()
    this.calls = Math.max(0, this.calls - 1)
  }

  /** Host time spent for the isolate outside its CPU clock (inline zlib, hashing). */
  chargeHost(ms: number): void {
    if (this.calls === 0) this.add(BigInt(Math.round(ms * 1e6)))
  }

  sample(): void {
    const cpu = this.readCpuNs()
    if (cpu === undefined) return
    const delta = cpu - this.lastCpuNs
    this.lastCpuNs = cpu
    if (this.calls === 0 && delta > 0n) this.add(delta)
  }

  private add(ns: bigint): void {
    const now = this.now()
    if (windowOver(now, this.windowStart, this.windowMs)) {
      this.windowStart = now
      this.usedNs = 0n
    }
    this.usedNs += ns
    if (!this.exceeded && this.usedNs > BigInt(this.budgetMs) * NS_PER_MS) {
      this.exceeded = true
      this.onExceeded()
    }
  }
}
