import { ChildProcess, spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

const BIN = path.resolve(__dirname, '../../bin/plugin-server.js')

export const WORKER_ROLES = ['ingest-worker', 'exporter', 'scheduler', 'job-worker'] as const

interface Member {
  role: string
  index: number
  child: ChildProcess
}

/** The whole fleet as child processes, each role twice (capture once), with kill and restart. */
export class ChaosFleet {
  private readonly members: Member[] = []
  kills = 0

  constructor(
    private readonly env: Record<string, string>,
    private readonly logDir: string,
  ) {}

  captureEnvPort(): string {
    return this.env.CAPTURE_PORT
  }

  startAll(): void {
    this.spawn('capture', 0)
    for (const role of WORKER_ROLES) for (const index of [0, 1]) this.spawn(role, index)
  }

  /** SIGKILL a random worker process and start it again after `downMs`. */
  async killRandomWorker(downMs: number, log: (line: string) => void): Promise<void> {
    const workers = this.members.filter((m) => m.role !== 'capture' && m.child.exitCode === null && m.child.signalCode === null)
    const victim = workers[Math.floor(Math.random() * workers.length)]
    if (!victim) return
    victim.child.kill('SIGKILL')
    this.kills++
    log(`SIGKILL ${victim.role} #${victim.index} (pid ${victim.child.pid})`)
    await new Promise((r) => setTimeout(r, downMs))
    this.members.splice(this.members.indexOf(victim), 1)
    this.spawn(victim.role, victim.index)
  }

  /** Processes that exited on their own: the fleet must recover without anyone restarting them. */
  unexpectedExits(): string[] {
    return this.members.filter((m) => m.child.exitCode !== null).map((m) => `${m.role} #${m.index} exited with ${m.child.exitCode}`)
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.members.map(
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

  private spawn(role: string, index: number): void {
    const out = fs.openSync(path.join(this.logDir, `${role}-${index}.log`), 'a')
    const child = spawn(process.execPath, ['--no-node-snapshot', BIN, 'start', role], { env: { ...process.env, ...this.env }, stdio: ['ignore', out, out] })
    fs.closeSync(out)
    this.members.push({ role, index, child })
  }
}
