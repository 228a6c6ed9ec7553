import { ChildProcess, spawn } from 'node:child_process'
import path from 'node:path'
import readline from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { TEST_SECURITY_ENV } from './security-env'
import { bound } from './wait'

export const REPO_ROOT = path.resolve(__dirname, '../../..')
export const CLI = path.join(REPO_ROOT, 'bin/plugin-server.js')

type LogLine = Record<string, unknown>

/** A plugin-server child process whose JSON log lines the test can wait on. */
export class FleetProcess {
  readonly lines: LogLine[] = []
  readonly stderr: string[] = []
  private waiters: { predicate: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = []
  readonly exited: Promise<number | null>

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    const stdout = readline.createInterface({ input: child.stdout! })
    stdout.on('line', (text) => {
      let line: LogLine
      try {
        line = JSON.parse(text) as LogLine
      } catch {
        line = { msg: text }
      }
      this.lines.push(line)
      this.waiters = this.waiters.filter((w) => (w.predicate(line) ? (w.resolve(line), false) : true))
    })
    readline.createInterface({ input: child.stderr! }).on('line', (text) => this.stderr.push(text))
    // 'exit' can come before the last lines are read from the pipe (a test then misses 'shutdown
    // complete'): resolved once stdout has ended too, or 2 s after the exit should a grandchild hold it.
    const stdoutEnded = new Promise<void>((resolve) => stdout.once('close', resolve))
    this.exited = new Promise<number | null>((resolve) => child.once('exit', resolve)).then(async (code) => {
      await Promise.race([stdoutEnded, sleep(2_000, undefined, { ref: false })])
      return code
    })
  }

  /** `unscaledMs` is stretched by the machine's load (see wait.ts). */
  waitForLog(predicate: (line: LogLine) => boolean, unscaledMs = 30_000): Promise<LogLine> {
    const found = this.lines.find(predicate)
    if (found) return Promise.resolve(found)
    const timeoutMs = bound(unscaledMs)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`${this.name}: no matching log line within ${timeoutMs} ms; stderr: ${this.stderr.join('\n').slice(-2000)}`))
      }, timeoutMs)
      this.waiters.push({ predicate, resolve: (l) => (clearTimeout(timer), resolve(l)) })
    })
  }

  /** The port of its health and metrics server, from the line saying it listens. */
  async healthPort(unscaledMs = 30_000): Promise<number> {
    return Number((await this.waitForLog((l) => l.msg === 'health and metrics server listening', unscaledMs)).port)
  }

  /** Its `/metrics` text (Prometheus format); a status other than 200 is an error naming the process. */
  async metrics(): Promise<string> {
    const response = await fetch(`http://127.0.0.1:${await this.healthPort()}/metrics`)
    if (response.status !== 200) throw new Error(`${this.name}: /metrics answered ${response.status}`)
    return response.text()
  }

  kill(signal: NodeJS.Signals): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal)
    return this.exited
  }
}

const running = new Set<FleetProcess>()

export function startCli(args: string[], env: Record<string, string>): FleetProcess {
  const child = spawn(process.execPath, ['--no-node-snapshot', CLI, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOG_FORMAT: 'json', LOG_LEVEL: 'info', ...TEST_SECURITY_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const proc = new FleetProcess(args.join(' '), child)
  running.add(proc)
  void proc.exited.then(() => running.delete(proc))
  return proc
}

/** Starts a role and resolves once it logged that it started. */
export async function startRole(role: string, env: Record<string, string>): Promise<FleetProcess> {
  const proc = startCli(['start', role], env)
  await proc.waitForLog((l) => l.msg === `${role} started`)
  return proc
}

export async function stopAllProcesses(): Promise<void> {
  await Promise.all([...running].map((p) => p.kill('SIGKILL')))
}

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/**
 * Runs the real `plugin-server` CLI to completion, with `stdin` as its input. A run that outlives
 * `unscaledMs` (stretched by the machine's load, see wait.ts) is killed and fails naming the
 * command: each run has its own bound, so a test of many runs is not held to one fixed total.
 */
export function runCli(args: string[], env: Record<string, string> = {}, stdin = '', unscaledMs = 120_000): Promise<CliResult> {
  const timeoutMs = bound(unscaledMs)
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--no-node-snapshot', CLI, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`plugin-server ${args.join(' ')} did not finish within ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`))
    }, timeoutMs)
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', (err) => (clearTimeout(timer), reject(err)))
    child.on('close', (code) => (clearTimeout(timer), resolve({ code, stdout, stderr })))
    child.stdin!.end(stdin)
  })
}
