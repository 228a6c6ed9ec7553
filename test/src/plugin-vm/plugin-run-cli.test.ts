import assert from 'assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs'
import { tmpdir } from 'os'
import { join } from 'path'
import { CliResult, runCli as runPluginServer } from '../harness/processes'
import { fixture } from './helpers'

function runCli(args: string[], stdin?: string): Promise<CliResult> {
  return runPluginServer(['plugin', 'run', ...args], {}, stdin ?? '')
}

describe('plugin-vm: plugin-server plugin run', () => {
  let tmp: string
  let eventFile: string
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'plugin-run-'))
    eventFile = join(tmp, 'event.json')
    writeFileSync(eventFile, JSON.stringify({ event: 'pageview', distinct_id: 'u1', properties: { a: 1 } }))
  })
  after(() => rmSync(tmp, { recursive: true, force: true }))

  it('runs setup, processEvent, onEvent and teardown and prints one JSON object', async () => {
    const { code, stdout, stderr } = await runCli([fixture('hello-world'), '--event', eventFile, '--config', 'greeting=howdy', '--config', 'mode=loud'])
    assert.equal(code, 0, stderr)
    const out = JSON.parse(stdout)
    assert.deepEqual(out.event, { event: 'pageview', distinct_id: 'u1', properties: { a: 1, greeting: 'HOWDY', seen: 1 } })
    assert.deepEqual(out.console, [
      { level: 'log', message: 'set up with HOWDY' },
      { level: 'info', message: 'bye' },
    ])
    assert.deepEqual(out.errors, [])
    assert.deepEqual(out.captures, [{ event: 'greeted', properties: { original: 'pageview' } }])
    assert.deepEqual(
      out.jobs.map((j: { name: string; payload: unknown }) => [j.name, j.payload]),
      [['remember', { event: 'pageview' }]],
    )
    assert.deepEqual(out.cacheWrites, [{ op: 'incr', key: 'seen', value: 1 }])
    assert.deepEqual(out.metrics, [{ name: 'greeted', operation: 'sum', value: 1 }])
  })

  it("gives the plugin UTC as its local zone whatever the process's TZ (Asia/Kathmandu, +05:45): any pod may run a plugin's date math", async () => {
    const plugin = join(tmp, 'local-time')
    mkdirSync(plugin)
    writeFileSync(join(plugin, 'plugin.json'), '{"name":"local-time"}')
    writeFileSync(
      join(plugin, 'index.js'),
      `export function processEvent(event) {
        const noon = new Date(Date.UTC(2024, 4, 1, 12))
        event.properties = { hours: noon.getHours(), offset: noon.getTimezoneOffset(), zoneless: new Date('2024-05-01T12:00:00').toISOString() }
        return event
      }`,
    )
    const { code, stdout, stderr } = await runPluginServer(['plugin', 'run', plugin, '--event', eventFile], { TZ: 'Asia/Kathmandu' })
    assert.equal(code, 0, stderr)
    assert.deepEqual(JSON.parse(stdout).event.properties, { hours: 12, offset: 0, zoneless: '2024-05-01T12:00:00.000Z' })
  })

  it('reads the event from stdin and reports a dropped event as null', async () => {
    const { code, stdout } = await runCli([fixture('multi-file'), '--event', '-', '--config', 'domain=example.com'], JSON.stringify({ event: 'drop me' }))
    assert.equal(code, 0)
    assert.equal(JSON.parse(stdout).event, null)
  })

  it("keeps the event as the ingest chain stores it when processEvent throws, with the error's stack at the plugin's own file and line", async () => {
    const plugin = join(tmp, 'throws-in-a-helper')
    mkdirSync(plugin)
    writeFileSync(join(plugin, 'plugin.json'), '{"name":"throws-in-a-helper"}')
    writeFileSync(join(plugin, 'index.js'), "const { boom } = require('./boom')\nexport function processEvent(event) {\n  return boom(event)\n}\n")
    writeFileSync(join(plugin, 'boom.js'), '// line 1\nexports.boom = function (event) {\n  return event.properties.missing.deep // line 3\n}\n')
    const { code, stdout, stderr } = await runCli([plugin, '--event', eventFile])
    assert.equal(code, 1)
    const out = JSON.parse(stdout)
    assert.deepEqual(out.event, { event: 'pageview', distinct_id: 'u1', properties: { a: 1 } }, 'kept as it was, not null')
    assert.equal(out.failed, true)
    assert.equal(out.errors.length, 1)
    assert.match(out.errors[0].stack, /^ {4}at exports\.boom \(plugin\/throws-in-a-helper\/boom\.js:3:\d+\)/)
    assert.match(stderr, /processEvent failed: TypeError: .*\n {4}at exports\.boom \(plugin\/throws-in-a-helper\/boom\.js:3:\d+\)/)
  })

  it('exits 1 naming the problem when the plugin throws', async () => {
    const { code, stdout, stderr } = await runCli([fixture('hostile'), '--event', eventFile, '--config', 'mode=throw-string'])
    assert.equal(code, 1)
    assert.deepEqual(
      JSON.parse(stdout).errors.map((e: { stage: string }) => e.stage),
      ['processEvent'],
    )
    assert.match(stderr, /plugin run failed: .*processEvent failed: Error: a plain string/)
  })

  it('exits 1 when the plugin cannot be loaded or config is missing', async () => {
    const missing = await runCli([join(tmp, 'nope'), '--event', eventFile])
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /plugin run failed: plugin path .*nope does not exist/)
    const noConfig = await runCli([fixture('multi-file'), '--event', eventFile])
    assert.equal(noConfig.code, 1)
    assert.match(noConfig.stderr, /requires config domain/)
  })

  it('stops a plugin that exceeds its deadline', async () => {
    const { code, stdout, stderr } = await runCli([fixture('hostile'), '--event', eventFile, '--config', 'mode=sync-loop', '--timeout', '300'])
    assert.equal(code, 1)
    assert.match(JSON.parse(stdout).errors[0].message, /exceeded its time limit \(300 ms\)/)
    assert.match(stderr, /exceeded its time limit/)
  })
})
