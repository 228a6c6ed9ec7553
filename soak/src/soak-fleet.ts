import { ChildProcess, spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { GLIBC_MALLOC_TUNABLES } from '@plugin-server/core'
import { freePort } from '@plugin-server/dev-services'

const BIN = path.resolve(__dirname, '../../bin/plugin-server.js')

/** The fleet: capture, two ingest workers, and one of each other role. */
export const SOAK_ROLES = ['capture', 'ingest-worker', 'ingest-worker', 'exporter', 'scheduler', 'job-worker'] as const

export interface SoakProcess {
  /** `role #index`, as the tables name it. */
  name: string
  role: string
  pid: number
  /** Where /healthz, /readyz and /metrics answer. */
  healthUrl: string
  /** The DevTools port (loopback only) the sampler forces a full GC through before reading the heap. */
  inspectPort: number
  child: ChildProcess
  log: string
}

/** The fleet as child processes, each with its own health port so every one of them can be polled. */
export class SoakFleet {
  readonly processes: SoakProcess[] = []

  constructor(
    private readonly env: Record<string, string>,
    private readonly logDir: string,
  ) {}

  async start(timeoutMs = 90_000): Promise<void> {
    const seen = new Map<string, number>()
    for (const role of SOAK_ROLES) {
      const index = seen.get(role) ?? 0
      seen.set(role, index + 1)
      this.processes.push(await this.spawn(role, index))
    }
    await Promise.all(this.processes.map((p) => this.started(p, timeoutMs)))
  }

  /** Processes that exited during the run: a soak run has no faults, so any exit fails it. */
  exits(): string[] {
    return this.processes
      .filter((p) => p.child.exitCode !== null || p.child.signalCode !== null)
      .map((p) => `${p.name} exited (${p.child.exitCode ?? p.child.signalCode})`)
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.processes.map(
        ({ child }) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve()
            const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
            child.once('exit', () => (clearTimeout(timer), resolve()))
            child.kill('SIGTERM')
          }),
      ),
    )
  }

  private async spawn(role: string, index: number): Promise<SoakProcess> {
    const port = await freePort()
    const inspectPort = await freePort()
    const log = path.join(this.logDir, `${role}-${index}.log`)
    const out = fs.openSync(log, 'a')
    const child = spawn(process.execPath, ['--no-node-snapshot', `--inspect=127.0.0.1:${inspectPort}`, BIN, 'start', role], {
      env: { GLIBC_TUNABLES: GLIBC_MALLOC_TUNABLES, ...process.env, ...this.env, METRICS_PORT: String(port) },
      stdio: ['ignore', out, out],
    })
    fs.closeSync(out)
    return { name: `${role} #${index}`, role, pid: child.pid!, healthUrl: `http://127.0.0.1:${port}`, inspectPort, child, log }
  }

  private async started(p: SoakProcess, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    const line = `"msg":"${p.role} started"`
    while (p.child.exitCode === null && p.child.signalCode === null) {
      if (fs.readFileSync(p.log).toString().includes(line)) return
      if (Date.now() > deadline) throw new Error(`${p.name} did not start within ${timeoutMs} ms (log: ${p.log})`)
      await new Promise((r) => setTimeout(r, 100))
    }
    throw new Error(`${p.name} exited during start-up (log: ${p.log})`)
  }
}
