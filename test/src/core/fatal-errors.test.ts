import assert from 'assert/strict'
import { spawn } from 'child_process'
import fs from 'fs'
import os from 'os'
import path from 'path'
import readline from 'readline'
import { REPO_ROOT } from '../harness/processes'

const CORE = path.join(REPO_ROOT, 'libs/core/dist')
const IVM = path.join(REPO_ROOT, 'node_modules/isolated-vm')

interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
  /** From the child's "throwing now" line to its exit. */
  afterThrowMs: number
  lines: Record<string, unknown>[]
  stderr: string
}

/** Runs a script in a real Node process; it prints `throwing` just before it fails asynchronously. */
function runScript(source: string, env: Record<string, string> = {}): Promise<Exit> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fatal-'))
  const file = path.join(dir, 'script.js')
  fs.writeFileSync(file, source)
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--no-node-snapshot', file], { cwd: REPO_ROOT, env: { ...process.env, LOG_FORMAT: 'json', ...env } })
    const lines: Record<string, unknown>[] = []
    let stderr = ''
    let thrownAt = 0
    readline.createInterface({ input: child.stdout }).on('line', (text) => {
      if (text === 'throwing') thrownAt = Date.now()
      else lines.push(JSON.parse(text) as Record<string, unknown>)
    })
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', reject)
    child.on('close', (code, signal) => {
      fs.rmSync(dir, { recursive: true, force: true })
      resolve({ code, signal, afterThrowMs: Date.now() - thrownAt, lines, stderr })
    })
  })
}

const withLogger = (body: string) => `
  const { createLogger, installFatalHandlers } = require(${JSON.stringify(CORE)})
  installFatalHandlers(createLogger({ logLevel: 'info', logFormat: 'json' }))
  ${body}`

function fatalLine(exit: Exit): Record<string, unknown> {
  const line = exit.lines.find((l) => l.level === 60)
  assert.ok(line, `a fatal log line; stdout ${JSON.stringify(exit.lines)}, stderr ${exit.stderr}`)
  return line
}

describe('core: fatal errors exit the process promptly', function () {
  this.timeout(30_000)

  it('logs an uncaught exception thrown from a timer with its stack and exits 1 at once', async () => {
    const exit = await runScript(withLogger(`setTimeout(() => { console.log('throwing'); throw new Error('boom from a timer') }, 10)`))
    assert.equal(exit.code, 1)
    const line = fatalLine(exit)
    assert.match(String(line.msg), /^uncaught exception, exiting: boom from a timer/)
    assert.match(String((line.err as { stack: string }).stack), /boom from a timer\n\s+at /)
    process.stdout.write(`      exited ${exit.afterThrowMs} ms after the throw\n`)
    assert.ok(exit.afterThrowMs < 1000, `exited ${exit.afterThrowMs} ms after the throw`)
  })

  it('treats an unhandled rejection the same way', async () => {
    const exit = await runScript(withLogger(`setTimeout(() => { console.log('throwing'); Promise.reject(new Error('nobody handled me')) }, 10)`))
    assert.equal(exit.code, 1)
    assert.match(String(fatalLine(exit).msg), /^unhandled promise rejection, exiting: nobody handled me/)
    assert.ok(exit.afterThrowMs < 1000, `exited ${exit.afterThrowMs} ms after the rejection`)
  })

  it('exits within the bound even while an isolate is busy, where process.exit alone hangs', async () => {
    const exit = await runScript(
      withLogger(`
      const ivm = require(${JSON.stringify(IVM)})
      const context = new ivm.Isolate({ memoryLimit: 32 }).createContextSync()
      context.eval('for (;;) {}', { timeout: 60000 }).catch(() => {})
      setTimeout(() => { console.log('throwing'); throw new Error('boom next to a busy plugin') }, 50)`),
    )
    assert.notEqual(exit.code, 0)
    assert.ok(exit.code === 1 || exit.signal === 'SIGKILL', `exit ${exit.code} ${exit.signal}`)
    assert.match(String(fatalLine(exit).msg), /boom next to a busy plugin/)
    process.stdout.write(`      exited (${exit.code ?? exit.signal}) ${exit.afterThrowMs} ms after the throw\n`)
    assert.ok(exit.afterThrowMs < 2000, `exited ${exit.afterThrowMs} ms after the throw`)
  })

  it('is installed by every role: a role that fails asynchronously after starting exits 1 with a fatal log line', async () => {
    const exit = await runScript(
      `
      const { runRole } = require(${JSON.stringify(CORE)})
      runRole('scheduler', async () => {
        setTimeout(() => { console.log('throwing'); Promise.reject(new Error('role work failed')) }, 50)
        return { closers: [] }
      })`,
      { METRICS_PORT: '-1', LOG_LEVEL: 'info' },
    )
    assert.equal(exit.code, 1)
    const line = fatalLine(exit)
    assert.equal(line.role, 'scheduler')
    assert.match(String(line.msg), /^unhandled promise rejection, exiting: role work failed/)
    assert.ok(exit.afterThrowMs < 1000, `exited ${exit.afterThrowMs} ms after the rejection`)
  })
})
