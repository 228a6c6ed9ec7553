import assert from 'assert/strict'
import { spawn } from 'child_process'
import { cpSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'fs'
import { tmpdir } from 'os'
import { join, relative } from 'path'
import { CLI, CliResult, REPO_ROOT } from '../harness/processes'
import { fixture } from './helpers'

/** The CLI as an operator starts it from their own folder: cwd outside the checkout. */
function runCliIn(cwd: string, args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--no-node-snapshot', CLI, ...args], { cwd, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

describe('plugin-vm: plugin-server plugin run from any directory', () => {
  let cwd: string
  before(() => {
    cwd = realpathSync(mkdtempSync(join(tmpdir(), 'plugin-run-cwd-')))
    assert.ok(relative(REPO_ROOT, cwd).startsWith('..'), 'the folder is outside the checkout')
    cpSync(fixture('hello-world'), join(cwd, 'my-plugin'), { recursive: true })
    writeFileSync(join(cwd, 'event.json'), JSON.stringify({ event: 'pageview', properties: {} }))
  })
  after(() => rmSync(cwd, { recursive: true, force: true }))

  it('loads a plugin given by a path relative to a folder outside the checkout', async () => {
    const { code, stdout, stderr } = await runCliIn(cwd, ['plugin', 'run', './my-plugin', '--event', 'event.json', '--config', 'greeting=hi'])
    assert.equal(code, 0, stderr)
    assert.deepEqual(JSON.parse(stdout).event, { event: 'pageview', properties: { greeting: 'hi', seen: 1 } })
  })
})
