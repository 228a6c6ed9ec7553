import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { createConfig, installPluginFromPath } from '@plugin-server/management'
import { tryEvent, TryResult, TryStep } from '@plugin-server/try-it'
import { writePlugin } from '../harness/plugins'
import { createTeamRow, ManagementHarness, startManagement } from '../management/management-fixture'

/** Its export methods behave as `properties.mode` says, so one plugin shows each way a delivery can end. */
const EXPORTER = `export function onEvent(event) {
  if (event.properties.mode === 'fail') throw new Error('the destination is down')
}
export function exportEvents(events) {
  if (events[0].properties.mode === 'fail') throw new RetryError('try again later')
}
export function composeWebhook(event) {
  if (event.properties.mode === 'not-a-webhook') return 'https://example.invalid'
  if (event.properties.mode === 'none') return null
  return { url: event.properties.url, body: JSON.stringify({ event: event.event }), headers: { Authorization: 'Bearer abc123' } }
}`

describe("Try it's exports go through the exporters' delivery code (libs/export deliver)", function () {
  this.timeout(60_000)
  let h: ManagementHarness
  let teamId: number
  let configId: number
  let server: http.Server
  let url: string
  const received: string[] = []

  beforeEach(async () => {
    h = await startManagement()
    teamId = await createTeamRow(h, 'try-delivery')
    const installed = await installPluginFromPath(h.ctx, writePlugin('try-exporter', EXPORTER))
    configId = (await createConfig(h.ctx, { teamId, plugin: installed.plugin.id, config: {}, enabled: true })).id
    server = http.createServer((req, res) => {
      received.push(`${req.method} ${req.url}`)
      res.writeHead(200).end()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`
  })
  afterEach(async () => {
    await new Promise((resolve) => server.close(resolve))
    await h.close()
  })

  const run = (mode: string): Promise<TryResult> =>
    tryEvent(
      { ...h.ctx, settings: { fetchAllowedHosts: ['127.0.0.1'] } },
      { teamId, event: { event: 'signup', distinct_id: 'u', properties: { mode, url } }, target: { plugin_config_id: configId } },
    )
  const step = (result: TryResult, method: string): TryStep => {
    const found = result.steps.find((s) => s.method === method)
    assert.ok(found, `a ${method} step`)
    return found
  }

  it('shows the composed webhook with sent: false and sends nothing, even to an allowed address', async () => {
    const result = await run('ok')
    assert.deepEqual(
      result.steps.map((s) => s.method),
      ['onEvent', 'exportEvents', 'composeWebhook'],
    )
    for (const s of result.steps) assert.equal(s.error, null, `${s.method} succeeded`)
    assert.deepEqual(step(result, 'composeWebhook').output, {
      url,
      method: 'POST',
      headers: { Authorization: 'Bearer [redacted]' },
      body: JSON.stringify({ event: 'signup' }),
      sent: false,
    })
    assert.deepEqual(received, [], 'the destination received nothing')
  })

  it('gives a recording ($snapshot) to no export method but onSnapshot, as the exporters do', async () => {
    const result = await tryEvent(
      { ...h.ctx, settings: { fetchAllowedHosts: ['127.0.0.1'] } },
      { teamId, event: { event: '$snapshot', distinct_id: 'u', properties: { mode: 'ok', url } }, target: { plugin_config_id: configId } },
    )
    assert.deepEqual(
      result.steps.map((s) => s.method),
      [],
      'the plugin exports no onSnapshot: exportEvents and composeWebhook are not called',
    )
  })

  it('shows a composeWebhook returning nothing as no webhook, and something else as refused with the exporters’ words', async () => {
    assert.equal(step(await run('none'), 'composeWebhook').output, null)
    const refused = step(await run('not-a-webhook'), 'composeWebhook')
    assert.equal(refused.error, 'composeWebhook returned something other than {url, body, headers, method} or null')
  })

  it('shows the plugin’s own error on a failing onEvent and exportEvents (a RetryError too)', async () => {
    const result = await run('fail')
    assert.match(String(step(result, 'onEvent').error), /the destination is down/)
    assert.match(String(step(result, 'exportEvents').error), /RetryError: .*try again later/)
    assert.equal(step(result, 'composeWebhook').error, null)
    assert.deepEqual(received, [])
  })
})
