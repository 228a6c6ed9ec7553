import { Worker } from 'worker_threads'
import { transferList, WorkReply, WorkRequest } from './work-messages'

/**
 * One worker thread running one task at a time. Stopping it mid-task terminates the thread (V8
 * interrupts zlib's JS loop between output chunks, so this takes well under a second).
 */
export class HostWorker {
  private readonly worker: Worker
  private current: { id: number; resolve: (value: unknown) => void; reject: (error: Error) => void } | undefined
  private nextId = 1
  private stopped = false

  constructor(script: string) {
    this.worker = new Worker(script)
    this.worker.on('message', (reply: WorkReply) => this.settle(reply))
    this.worker.on('error', (error: Error) => this.fail(new Error(`host work thread failed: ${error.message}`)))
    this.worker.on('exit', (code) => this.fail(new Error(`host work thread exited (code ${code})`)))
    // Idle threads must not keep the process alive. After the listeners: adding a 'message' listener refs the worker's port again.
    this.worker.unref()
  }

  get busy(): boolean {
    return this.current !== undefined
  }

  get alive(): boolean {
    return !this.stopped
  }

  run(op: string, args: unknown[]): Promise<unknown> {
    if (this.stopped) return Promise.reject(new Error('host work thread was stopped'))
    if (this.current) return Promise.reject(new Error('host work thread is busy'))
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.current = { id, resolve, reject }
      const request: WorkRequest = { id, op, args }
      this.worker.postMessage(request, transferList(...args))
    })
  }

  /** Ends the thread; the task it was running (if any) fails with `reason`. */
  stop(reason: Error): void {
    this.fail(reason)
    void this.worker.terminate()
  }

  private settle(reply: WorkReply): void {
    const current = this.current
    if (!current || current.id !== reply.id) return
    this.current = undefined
    if (reply.ok) return current.resolve(reply.value)
    const error = new Error(reply.error.message) as Error & { code?: unknown }
    error.name = reply.error.name
    if (reply.error.code !== undefined) error.code = reply.error.code
    current.reject(error)
  }

  private fail(reason: Error): void {
    this.stopped = true
    const current = this.current
    this.current = undefined
    current?.reject(reason)
  }
}
