import assert from 'assert/strict'
import { LocalHost, MAX_MAPPED_POSITIONS, PluginError, PluginInstance, sourceFromFiles } from '@plugin-server/plugin-vm'
import { rejection, vm } from './helpers'

const BOOM = '// line 1\nexports.boom = function (event) {\n  return event.properties.missing.deep // line 3\n}\n'
const INDEX = "const { boom } = require('./boom')\nexport function processEvent(event) {\n  return boom(event)\n}\n"

/** What a hostile or careless plugin ships: a map saying its code is some file of the host's. */
const SHIPPED_MAP = {
  version: 3,
  sources: ['/etc/shadow.ts'],
  names: [],
  mappings: 'AAAA;AACA;AACA;AACA',
}

async function load(files: Record<string, string>, host = new LocalHost()): Promise<PluginInstance> {
  const source = await sourceFromFiles(new Map(Object.entries({ 'plugin.json': '{"name":"stacky"}', ...files }).map(([k, v]) => [k, Buffer.from(v)])))
  return vm.load(source, host, { configId: 1 })
}

describe("plugin-vm: a plugin's stacks name its own files and lines", () => {
  it('a throw in a required file is reported at that file and line, not the bundle', async () => {
    const instance = await load({ 'index.js': INDEX, 'boom.js': BOOM })
    try {
      const error = await rejection(instance.call('processEvent', [{ event: 'a', properties: {} }]))
      assert.ok(error instanceof PluginError)
      assert.match(error.pluginStack ?? '', /at exports\.boom \(plugin\/stacky\/boom\.js:3:\d+\)/)
      assert.match(error.pluginStack ?? '', /at processEvent \(plugin\/stacky\/index\.js:3:\d+\)/)
    } finally {
      instance.dispose()
    }
  })

  it('the failed events of a batch carry mapped stacks too', async () => {
    const instance = await load({ 'index.js': INDEX, 'boom.js': BOOM })
    try {
      const [result] = await instance.processEventBatch([{ event: 'a', uuid: '00000000-0000-0000-0000-000000000001', properties: {} }])
      assert.equal(result.ok, false)
      assert.match(result.ok ? '' : (result.error.stack ?? ''), /plugin\/stacky\/boom\.js:3:\d+/)
    } finally {
      instance.dispose()
    }
  })

  /** What a plugin whose processEvent catches boom.js's error and runs `handler` on it logs. */
  async function logsOf(handler: string): Promise<string[]> {
    const host = new LocalHost()
    const logged = `export function processEvent(event) {
  try { boom(event) } catch (err) { ${handler} }
  return event
}
const { boom } = require('./boom')
`
    const instance = await load({ 'index.js': logged, 'boom.js': BOOM }, host)
    try {
      await instance.call('processEvent', [{ event: 'a', properties: {} }])
      return host.logs.map((entry) => entry.message)
    } finally {
      instance.dispose()
    }
  }

  it('a stack the plugin logs itself (console.error) names its own file and line', async () => {
    const line = (await logsOf(`console.error('failed:', err.stack)`)).find((message) => message.startsWith('failed:')) ?? ''
    assert.match(line, /at exports\.boom \(plugin\/stacky\/boom\.js:3:\d+\)/)
  })

  it('maps at most 64 positions of one text: a log line full of them is not looked up position by position on the host', async () => {
    const logged = await logsOf(`console.log(Array.from({ length: 100 }, () => err.stack.split('\\n')[1]).join('\\n'))`)
    const lines = (logged.find((message) => message.includes('exports.boom')) ?? '').split('\n')
    assert.equal(lines.length, 100)
    assert.equal(lines.filter((l) => /plugin\/stacky\/boom\.js:3:\d+/.test(l)).length, MAX_MAPPED_POSITIONS)
    assert.equal(lines.filter((l) => /plugin\/stacky\/index\.js:\d+:\d+/.test(l)).length, 100 - MAX_MAPPED_POSITIONS, 'the rest left as the bundle named them')
  })

  it("a sourceMappingURL comment the plugin ships is not followed: the map is esbuild's", async () => {
    const comment = `//# sourceMappingURL=data:application/json;base64,${Buffer.from(JSON.stringify(SHIPPED_MAP)).toString('base64')}\n`
    const instance = await load({ 'index.js': INDEX, 'boom.js': BOOM + comment })
    try {
      const error = (await rejection(instance.call('processEvent', [{ event: 'a', properties: {} }]))) as PluginError
      assert.match(error.pluginStack ?? '', /plugin\/stacky\/boom\.js:3:\d+/)
      assert.doesNotMatch(error.pluginStack ?? '', /shadow/)
    } finally {
      instance.dispose()
    }
  })
})
