import { ChildProcess, spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { GLIBC_MALLOC_TUNABLES } from '@plugin-server/core'

const BIN = path.resolve(__dirname, '../../bin/plugin-server.js')

export const WORKER_ROLES = ['ingest-worker', 'exporter', 'scheduler', 'job-worker'] as const

interface Member {
  role: string
  index: number
  child: ChildProcess
  log: string
  /** Where this process's output begins in its log file (a restarted one appends to its predecessor's). */
  logOffset: number
}

/** The whole fleet as child processes, each worker role twice (capture once), with SIGKILL and restart. */
export class ChaosFleet {
  private readonly members: Member[] = []

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

  /** SIGKILLs a random worker process (never capture) and waits for it to die; returns it, or null if none is alive. */
  killRandomWorker(): Promise<string | null> {
    const workers = this.alive().filter((m) => m.role !== 'capture')
    return this.kill(workers[Math.floor(Math.random() * workers.length)])
  }

  /** SIGKILLs capture, with whatever requests it is answering, and waits for it to die. */
  killCapture(): Promise<string | null> {
    return this.kill(this.alive().find((m) => m.role === 'capture'))
  }

  /**
   * Starts again every process killed by this fleet and waits until each logged that it started (or
   * exited, which unexpectedExits reports), so the next fault does not land in its start-up.
   */
  async restartKilled(timeoutMs = 60_000): Promise<void> {
    const restarted = this.members
      .filter((m) => m.child.signalCode === 'SIGKILL')
      .map((member) => {
        this.members.splice(this.members.indexOf(member), 1)
        return this.spawn(member.role, member.index)
      })
    await Promise.all(restarted.map((m) => this.started(m, timeoutMs)))
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

  private alive(): Member[] {
    return this.members.filter((m) => m.child.exitCode === null && m.child.signalCode === null)
  }

  private async kill(member: Member | undefined): Promise<string | null> {
    if (!member) return null
    const exited = new Promise((resolve) => member.child.once('exit', resolve))
    member.child.kill('SIGKILL')
    await exited
    return `${member.role} #${member.index} (pid ${member.child.pid})`
  }

  private async started(member: Member, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    const line = `"msg":"${member.role} started"`
    while (member.child.exitCode === null && member.child.signalCode === null && Date.now() < deadline) {
      if (fs.readFileSync(member.log).subarray(member.logOffset).toString().includes(line)) return
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  private spawn(role: string, index: number): Member {
    const log = path.join(this.logDir, `${role}-${index}.log`)
    const out = fs.openSync(log, 'a')
    const logOffset = fs.fstatSync(out).size
    const child = spawn(process.execPath, ['--no-node-snapshot', BIN, 'start', role], {
      // As in the image: the bin sets it only when it re-executes itself, which --no-node-snapshot skips.
      env: { GLIBC_TUNABLES: GLIBC_MALLOC_TUNABLES, ...process.env, ...this.env },
      stdio: ['ignore', out, out],
    })
    fs.closeSync(out)
    const member = { role, index, child, log, logOffset }
    this.members.push(member)
    return member
  }
}
