import assert from 'node:assert/strict'
import vm from 'node:vm'
import { gzipSync } from 'node:zlib'
import { createTestFleet, TestFleet } from '../harness/fleet'

interface Answer {
  status: number
  contentType: string
  text: string
  json: Record<string, unknown>
}

async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(url, init)
  const text = await res.text()
  let json: Record<string, unknown> = {}
  try {
    json = JSON.parse(text) as Record<string, unknown>
  } catch {
    // config.js is JavaScript
  }
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text, json }
}

describe('capture answers what posthog-js asks besides events (/flags, /decide, /array/<token>/config)', function () {
  this.timeout(60_000)
  let fleet: TestFleet
  let token: string

  before(async () => {
    fleet = await createTestFleet()
    token = fleet.team.api_token
    await fleet.start('capture')
  })
  after(async () => fleet?.close())

  const flagsBody = () => JSON.stringify({ token, distinct_id: 'visitor-1', groups: {}, person_properties: {} })

  it('POST /flags/?v=2 with a JSON body: no flags, with the flag details map, and no config unless asked', async () => {
    const answer = await call(`${fleet.captureUrl}/flags/?v=2`, { method: 'POST', body: flagsBody(), headers: { 'Content-Type': 'application/json' } })
    assert.equal(answer.status, 200, answer.text)
    assert.deepEqual(answer.json.featureFlags, {})
    assert.deepEqual(answer.json.featureFlagPayloads, {})
    assert.deepEqual(answer.json.flags, {})
    assert.equal(answer.json.errorsWhileComputingFlags, false)
    assert.equal(answer.json.autocapture_opt_out, undefined, 'no config in a plain flags answer')
    const withConfig = await call(`${fleet.captureUrl}/flags/?v=2&config=true`, { method: 'POST', body: flagsBody() })
    assert.equal(withConfig.json.autocapture_opt_out, false, 'config=true adds the config')
  })

  it('POST /flags/ with a gzip body flagged by ?compression=gzip-js, and with a base64 data= form', async () => {
    const gzipped = await call(`${fleet.captureUrl}/flags/?v=2&compression=gzip-js`, { method: 'POST', body: gzipSync(flagsBody()) })
    assert.equal(gzipped.status, 200, gzipped.text)
    assert.deepEqual(gzipped.json.flags, {})
    const form = await call(`${fleet.captureUrl}/flags/?v=2`, {
      method: 'POST',
      body: `data=${encodeURIComponent(Buffer.from(flagsBody()).toString('base64'))}`,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    })
    assert.equal(form.status, 200, form.text)
  })

  it('/decide/ in each version: a list of flags before v2, a map since, flag details from v4, always with the config allowing autocapture', async () => {
    const decide = (v: string) => call(`${fleet.captureUrl}/decide/${v}`, { method: 'POST', body: flagsBody() })
    const v1 = await decide('')
    assert.equal(v1.status, 200, v1.text)
    assert.deepEqual(v1.json.featureFlags, [])
    assert.deepEqual(v1.json.config, { enable_collect_everything: true })
    const v3 = await decide('?v=3')
    assert.deepEqual(v3.json.featureFlags, {})
    assert.equal(v3.json.flags, undefined)
    const v4 = await decide('?v=4')
    assert.deepEqual(v4.json.flags, {})
    for (const answer of [v1, v3, v4]) {
      assert.equal(answer.json.autocapture_opt_out, false)
      assert.equal(answer.json.sessionRecording, false)
    }
  })

  it('GET /decide/ with the token in the query string or in a base64 data= query', async () => {
    const byQuery = await call(`${fleet.captureUrl}/decide/?v=3&token=${token}`)
    assert.equal(byQuery.status, 200, byQuery.text)
    const byData = await call(`${fleet.captureUrl}/decide/?v=3&data=${encodeURIComponent(Buffer.from(flagsBody()).toString('base64'))}`)
    assert.equal(byData.status, 200, byData.text)
  })

  it('GET /array/<token>/config: autocapture allowed, recording, surveys and heatmaps off, events to /i/v0/e/', async () => {
    const answer = await call(`${fleet.captureUrl}/array/${token}/config`)
    assert.equal(answer.status, 200, answer.text)
    assert.match(answer.contentType, /application\/json/)
    assert.equal(answer.json.token, token)
    assert.equal(answer.json.autocapture_opt_out, false)
    assert.equal(answer.json.sessionRecording, false)
    assert.equal(answer.json.surveys, undefined, 'no surveys field, which would make posthog-js fetch its surveys script')
    assert.equal(answer.json.heatmaps, false)
    assert.equal(answer.json.hasFeatureFlags, false)
    assert.deepEqual(answer.json.supportedCompression, ['gzip', 'gzip-js'])
    assert.deepEqual(answer.json.analytics, { endpoint: '/i/v0/e/' })
  })

  it('GET /array/<token>/config.js: a script that leaves the same config in window._POSTHOG_REMOTE_CONFIG[token]', async () => {
    const [script, json] = await Promise.all([call(`${fleet.captureUrl}/array/${token}/config.js`), call(`${fleet.captureUrl}/array/${token}/config`)])
    assert.equal(script.status, 200, script.text)
    assert.match(script.contentType, /application\/javascript/)
    const window: { _POSTHOG_REMOTE_CONFIG?: Record<string, { config: unknown; siteApps: unknown[] }> } = {}
    vm.runInNewContext(script.text, { window })
    // Through JSON: objects made in the script's realm are not deep-equal to this realm's.
    assert.deepEqual(JSON.parse(JSON.stringify(window._POSTHOG_REMOTE_CONFIG?.[token])), { config: json.json, siteApps: [] })
  })

  it('an unknown token gets the 401 invalid_token capture answers for events, on every one of these endpoints', async () => {
    const unknown = 'phc_no_team_has_this_token'
    const answers = await Promise.all([
      call(`${fleet.captureUrl}/array/${unknown}/config`),
      call(`${fleet.captureUrl}/array/${unknown}/config.js`),
      call(`${fleet.captureUrl}/flags/?v=2`, { method: 'POST', body: JSON.stringify({ token: unknown, distinct_id: 'x' }) }),
      call(`${fleet.captureUrl}/decide/?v=4&token=${unknown}`),
      call(`${fleet.captureUrl}/i/v0/e/`, { method: 'POST', body: JSON.stringify({ token: unknown, event: 'e', distinct_id: 'x' }) }),
    ])
    for (const answer of answers) {
      assert.equal(answer.status, 401, answer.text)
      assert.deepEqual(answer.json, answers[4].json)
      assert.equal(answer.json.code, 'invalid_token')
    }
  })

  it('a flags request without any token is refused with 401 missing_token naming where to put it', async () => {
    const answer = await call(`${fleet.captureUrl}/flags/?v=2`, { method: 'POST', body: JSON.stringify({ distinct_id: 'x' }) })
    assert.equal(answer.status, 401)
    assert.equal(answer.json.code, 'missing_token')
    assert.match(String(answer.json.detail), /token/)
  })

  it('session recording is announced only when CAPTURE_SESSION_RECORDING_ENDPOINT names where recordings go', async () => {
    const recording = await createTestFleet({ CAPTURE_SESSION_RECORDING_ENDPOINT: '/s/' })
    try {
      await recording.start('capture')
      const answer = await call(`${recording.captureUrl}/array/${recording.team.api_token}/config`)
      assert.deepEqual(answer.json.sessionRecording, { endpoint: '/s/' })
    } finally {
      await recording.close()
    }
  })
})
