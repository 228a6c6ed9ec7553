import { availableParallelism } from 'os'
import { join } from 'path'
import { HostWorker } from './host-worker'

export interface HostTask {
  /** Whose work it is (a team): one owner holds at most all threads but one while others wait. */
  owner: string
  op: string
  args: unknown[]
  /** Aborted when the isolate that asked is disposed. */
  signal: AbortSignal
  /** Bound on the task, waiting for a thread included. */
  timeoutMs: number
  /** The error a task that ran out of time fails with; `started`: whether it had a thread by then. */
  timeoutError: (started: boolean) => Error
}

interface Entry {
  task: HostTask
  worker?: HostWorker
  settled: boolean
  finish: (error: Error | null, value?: unknown) => void
}

/**
 * A few worker threads shared by every isolate of the process, for host work too large to run on
 * the event loop. Threads start on demand; a task past its time bound, or whose isolate was
 * disposed, has its thread terminated (replaced on next demand), so it never holds a thread. One
 * owner (a team) runs on at most all threads but one: its next task waits while another owner's
 * goes first, so a team keeping every thread busy with brotli cannot make another team's
 * jsonwebtoken.sign (a warehouse SDK's token) wait out its deadline.
 */
export class HostWorkPool {
  private readonly workers: HostWorker[] = []
  private readonly queue: Entry[] = []
  /** Threads each owner's tasks hold now. */
  private readonly running = new Map<string, number>()

  constructor(
    readonly size = Math.min(4, Math.max(2, availableParallelism())),
    private readonly script = join(__dirname, 'worker-main.js'),
  ) {}

  /** Live threads and those running a task (for tests and metrics). */
  stats(): { threads: number; busy: number; queued: number } {
    const live = this.workers.filter((w) => w.alive)
    return { threads: live.length, busy: live.filter((w) => w.busy).length, queued: this.queue.length }
  }

  run(task: HostTask): Promise<unknown> {
    if (task.signal.aborted) return Promise.reject(abortError(task.signal))
    return new Promise((resolve, reject) => {
      const entry: Entry = {
        task,
        settled: false,
        finish: (error, value) => {
          if (entry.settled) return
          entry.settled = true
          if (entry.worker) {
            const held = (this.running.get(task.owner) ?? 1) - 1
            if (held <= 0) this.running.delete(task.owner)
            else this.running.set(task.owner, held)
          }
          clearTimeout(timer)
          task.signal.removeEventListener('abort', onAbort)
          const queued = this.queue.indexOf(entry)
          if (queued >= 0) this.queue.splice(queued, 1)
          if (error) reject(error)
          else resolve(value)
          this.pump()
        },
      }
      const stop = (error: Error) => {
        // Terminating a running thread is the only way to stop native zlib work part way.
        entry.worker?.stop(error)
        entry.finish(error)
      }
      const onAbort = () => stop(abortError(task.signal))
      const timer = setTimeout(() => stop(task.timeoutError(entry.worker !== undefined)), task.timeoutMs)
      task.signal.addEventListener('abort', onAbort, { once: true })
      this.queue.push(entry)
      this.pump()
    })
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const index = this.queue.findIndex((e) => this.mayStart(e.task.owner))
      if (index < 0) return
      const worker = this.idleWorker()
      if (!worker) return
      const [entry] = this.queue.splice(index, 1)
      entry.worker = worker
      this.running.set(entry.task.owner, (this.running.get(entry.task.owner) ?? 0) + 1)
      worker.run(entry.task.op, entry.task.args).then(
        (value) => entry.finish(null, value),
        (error: Error) => entry.finish(error),
      )
    }
  }

  /** Whether the owner may take a thread now: below all but one of them (or the pool has only one). */
  private mayStart(owner: string): boolean {
    return (this.running.get(owner) ?? 0) < Math.max(1, this.size - 1)
  }

  private idleWorker(): HostWorker | undefined {
    for (let i = this.workers.length - 1; i >= 0; i--) if (!this.workers[i].alive) this.workers.splice(i, 1)
    const idle = this.workers.find((w) => !w.busy)
    if (idle || this.workers.length >= this.size) return idle
    const worker = new HostWorker(this.script)
    this.workers.push(worker)
    return worker
  }
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('the isolate was disposed')
}

let shared: HostWorkPool | undefined

/** The process's pool, created on first use. */
export function sharedHostWorkPool(): HostWorkPool {
  return (shared ??= new HostWorkPool())
}
