import assert from 'assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs'
import { tmpdir } from 'os'
import { join } from 'path'
import { CliResult, runCli as runPluginServer } from '../harness/processes'
import { fixture } from './helpers'

function runCli(args: string[], stdin?: string): Promise<CliResult> {
  return runPluginServer(['plugin', 'run', ...args], {}, stdin ?? '')
}

const COUNTER = `
export function setupPlugin({ global }) {
  global.prefix = 'seen-'
  console.log('set up')
}
export async function processEvent(event, { cache, global, jobs }) {
  const count = await cache.incr('count')
  await jobs.later({ count }).runNow()
  return { ...event, properties: { ...event.properties, count, label: global.prefix + count } }
}
export function onEvent(event) {
  posthog.capture('echo', { count: event.properties.count })
}
export const jobs = { later() {} }
`

const BATCHER = `
export function processEventBatch(events) {
  return events.filter((e) => !e.properties?.drop).map((e) => ({ ...e, properties: { ...e.properties, batch: events.length } }))
}
`

/** The processed events without the uuids plugin run gave them. */
function withoutUuids(events: RunOutput['events']): unknown[] {
  return events.map((e) => {
    if (e === null) return null
    const { uuid, ...rest } = e
    assert.match(String(uuid), /^[0-9a-f-]{36}$/, 'each event was given a uuid')
    return rest
  })
}

interface RunOutput {
  events: ({ event: string; uuid?: string; properties: Record<string, unknown> } | null)[]
  event?: unknown
  failedEvents?: number[]
  console: { level: string; message: string }[]
  errors: { stage: string; index?: number; message: string }[]
  captures: { event: string; properties: Record<string, unknown> }[]
  jobs: { name: string; payload: unknown }[]
}

describe('plugin-vm: plugin-server plugin run --events', () => {
  let tmp: string
  let counter: string
  let batcher: string
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'plugin-run-events-'))
    const write = (name: string, code: string) => {
      const dir = join(tmp, name)
      mkdirSync(dir)
      writeFileSync(join(dir, 'plugin.json'), JSON.stringify({ name, config: [] }))
      writeFileSync(join(dir, 'index.js'), code)
      return dir
    }
    counter = write('counter', COUNTER)
    batcher = write('batcher', BATCHER)
  })
  after(() => rmSync(tmp, { recursive: true, force: true }))

  it('runs a JSON array through one instance: setup once, cache, global, jobs and captures shared, one result per event in order', async () => {
    const file = join(tmp, 'events.json')
    writeFileSync(file, JSON.stringify([{ event: 'a' }, { event: 'b', properties: { n: 2 } }, { event: 'c', properties: {} }]))
    const { code, stdout, stderr } = await runCli([counter, '--events', file])
    assert.equal(code, 0, stderr)
    const out = JSON.parse(stdout) as RunOutput
    assert.deepEqual(withoutUuids(out.events), [
      { event: 'a', properties: { count: 1, label: 'seen-1' } },
      { event: 'b', properties: { n: 2, count: 2, label: 'seen-2' } },
      { event: 'c', properties: { count: 3, label: 'seen-3' } },
    ])
    assert.equal('event' in out, false, '--events prints events, not event')
    assert.deepEqual(out.console, [{ level: 'log', message: 'set up' }])
    assert.deepEqual(
      out.jobs.map((j) => j.payload),
      [{ count: 1 }, { count: 2 }, { count: 3 }],
    )
    assert.deepEqual(
      out.captures.map((c) => c.properties.count),
      [1, 2, 3],
    )
    assert.deepEqual(out.errors, [])
  })

  it('reads JSON lines from stdin, skipping blank lines, and runs a processEventBatch plugin over them as one batch', async () => {
    const lines = [JSON.stringify({ event: 'a' }), '', JSON.stringify({ event: 'b', properties: { drop: true } }), JSON.stringify({ event: 'c' }), ''].join(
      '\n',
    )
    const { code, stdout, stderr } = await runCli([batcher, '--events', '-'], lines)
    assert.equal(code, 0, stderr)
    const out = JSON.parse(stdout) as RunOutput
    assert.deepEqual(withoutUuids(out.events), [{ event: 'a', properties: { batch: 3 } }, null, { event: 'c', properties: { batch: 3 } }])
  })

  it('names the line that is not JSON, or the array index that is not an event', async () => {
    const badLine = await runCli([counter, '--events', '-'], `${JSON.stringify({ event: 'a' })}\n{"event": oops}\n`)
    assert.equal(badLine.code, 1)
    assert.match(badLine.stderr, /plugin run failed: --events: line 2 is not valid JSON: /)
    const badIndex = await runCli([counter, '--events', '-'], JSON.stringify([{ event: 'a' }, { name: 'no event' }]))
    assert.equal(badIndex.code, 1)
    assert.match(badIndex.stderr, /--events: the event at index 1 must be a PluginEvent JSON object with an "event" string/)
    const empty = await runCli([counter, '--events', '-'], '\n')
    assert.match(empty.stderr, /--events: no events/)
  })

  it('lists a failed event by its index, keeps it as it was (as the ingest chain stores it) and goes on with the others', async () => {
    const { code, stdout, stderr } = await runCli(
      [fixture('hello-world'), '--events', '-'],
      JSON.stringify([{ event: 'one' }, { event: 'retry me' }, { event: 'two' }]),
    )
    assert.equal(code, 1)
    const out = JSON.parse(stdout) as RunOutput
    assert.deepEqual(
      out.events.map((e) => e?.event ?? null),
      ['one', 'retry me', 'two'],
    )
    assert.deepEqual(withoutUuids([out.events[1]]), [{ event: 'retry me' }], 'the failed event is the input, unchanged')
    assert.deepEqual(out.failedEvents, [1])
    assert.deepEqual(
      out.errors.map((e) => [e.stage, e.index]),
      [['processEvent', 1]],
    )
    assert.match(stderr, /plugin run failed: event 1: plugin Hello Fixture \(config local\): processEvent failed: RetryError: /)
  })

  it('wants exactly one of --event and --events', async () => {
    const neither = await runCli([counter])
    assert.equal(neither.code, 1)
    assert.match(neither.stderr, /give exactly one of --event <file\|-> or --events <file\|->/)
    const both = await runCli([counter, '--event', '-', '--events', '-'], '{}')
    assert.match(both.stderr, /give exactly one of --event/)
  })

  it('checks choice fields against their choices as config create does', async () => {
    const event = JSON.stringify({ event: 'e' })
    const bad = await runCli([fixture('hello-world'), '--event', '-', '--config', 'mode=shout'], event)
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /plugin run failed: plugin "Hello Fixture": config field "mode" must be one of "loud", "quiet" \(got "shout"\)/)
    const unknown = await runCli([fixture('hello-world'), '--event', '-', '--config', 'colour=red'], event)
    assert.match(unknown.stderr, /config field "colour" does not exist in plugin.json/)
    const good = await runCli([fixture('hello-world'), '--event', '-', '--config', 'mode=loud'], event)
    assert.equal(good.code, 0, good.stderr)
  })
})
