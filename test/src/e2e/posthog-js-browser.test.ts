import assert from 'node:assert/strict'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { launchBrowser } from '../harness/browser'
import { createTestFleet, eventually, TestFleet } from '../harness/fleet'
import { REPO_ROOT } from '../harness/processes'

const POSTHOG_DIST = path.join(REPO_ROOT, 'node_modules/posthog-js/dist')

/** The part of posthog-js the test calls in the page (the test project compiles without the DOM library). */
interface PageGlobals {
  posthog: {
    autocapture?: { isEnabled?: boolean }
    get_distinct_id: () => string
    identify: (id: string, set: object) => void
    reloadFeatureFlags: () => void
    onFeatureFlags: (cb: (flags: string[]) => void) => void
  }
}

interface StoredEvent {
  event: string
  distinct_id: string
  properties: Record<string, unknown>
}

/** What the page ran into and which requests it made to capture (path and status). */
interface PageWatch {
  problems: string[]
  captureRequests: { method: string; path: string; status: number }[]
  /** Everything posthog-js logged (it logs with ?__posthog_debug=true), to explain a failure. */
  console: string[]
}

/**
 * A site of its own origin: one page with a button that loads the given posthog-js bundle
 * (served from node_modules as a CDN would) and initialises it against capture. A driven browser
 * looks like a bot to posthog-js (navigator.webdriver), so the page opts out of that filter as
 * PostHog advises for end-to-end tests; nothing else differs from a default setup.
 */
async function startSite(bundle: string, token: string, captureUrl: string): Promise<{ url: string; close: () => Promise<void> }> {
  const script = fs.readFileSync(path.join(POSTHOG_DIST, bundle))
  const page = `<!doctype html>
<html><head><title>posthog-js test site</title><link rel="icon" href="data:,"></head>
<body>
<button id="buy" type="button">Buy the blue one</button>
<script src="/posthog.js"></script>
<script>window.posthog.init(${JSON.stringify(token)}, { api_host: ${JSON.stringify(captureUrl)}, opt_out_useragent_filter: true })</script>
</body></html>`
  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://site').pathname
    if (pathname === '/posthog.js') res.writeHead(200, { 'Content-Type': 'application/javascript' }).end(script)
    else if (pathname === '/') res.writeHead(200, { 'Content-Type': 'text/html' }).end(page)
    else res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

function watch(page: Page, captureUrl: string): PageWatch {
  const seen: PageWatch = { problems: [], captureRequests: [], console: [] }
  page.on('pageerror', (err) => seen.problems.push(`uncaught in the page: ${err.message}`))
  page.on('console', (msg) => {
    seen.console.push(`${msg.type()}: ${msg.text()}`)
    if (msg.type() === 'error') seen.problems.push(`console error: ${msg.text()} (${msg.location().url})`)
  })
  page.on('requestfailed', (req) => seen.problems.push(`request failed: ${req.method()} ${req.url()}: ${req.failure()?.errorText}`))
  page.on('response', (res) => {
    if (!res.url().startsWith(captureUrl)) return
    const url = new URL(res.url())
    seen.captureRequests.push({ method: res.request().method(), path: url.pathname, status: res.status() })
    if (res.status() >= 400) seen.problems.push(`${res.status()} from ${res.request().method()} ${res.url()}`)
  })
  return seen
}

async function storedEvents(fleet: TestFleet): Promise<StoredEvent[]> {
  const { rows } = await fleet.db.pool.query<StoredEvent>('SELECT event, distinct_id, properties FROM events WHERE team_id = $1', [fleet.team.id])
  return rows
}

describe('posthog-js in Chromium against capture', function () {
  this.timeout(120_000)
  let fleet: TestFleet
  let browser: Browser

  before(async () => {
    fleet = await createTestFleet({ CAPTURE_BATCH_MAX_WAIT_MS: '0' })
    await Promise.all([fleet.start('capture'), fleet.start('ingest-worker')])
    browser = await launchBrowser()
  })
  after(async () => {
    await browser?.close()
    await fleet?.close()
  })
  beforeEach(async () => {
    await fleet.db.pool.query('DELETE FROM events WHERE team_id = $1', [fleet.team.id])
  })

  // array.js is the CDN build, which loads the project's config as a script (config.js);
  // array.full.no-external.js loads nothing from the host but the JSON config.
  for (const [bundle, configPath] of [
    ['array.js', 'config.js'],
    ['array.full.no-external.js', 'config'],
  ] as const) {
    it(`${bundle}: stores $pageview, $autocapture of a click with the button's text and $identify, with no failed request or console error`, async () => {
      const token = fleet.team.api_token
      const site = await startSite(bundle, token, fleet.captureUrl)
      const context = await browser.newContext()
      try {
        const page = await context.newPage()
        const seen = watch(page, fleet.captureUrl)
        await page.goto(`${site.url}?__posthog_debug=true`)
        // Autocapture starts only once the project's config allowed it, so the click waits for that.
        await page.waitForFunction(() => (globalThis as unknown as Partial<PageGlobals>).posthog?.autocapture?.isEnabled === true)
        const anonymousId = await page.evaluate(() => (globalThis as unknown as PageGlobals).posthog.get_distinct_id())
        await page.click('#buy')
        const flags = await page.evaluate(
          () =>
            new Promise<string[]>((resolve) => {
              const ph = (globalThis as unknown as PageGlobals).posthog
              ph.onFeatureFlags((loaded) => resolve(loaded))
              ph.reloadFeatureFlags()
            }),
        )
        await page.evaluate(() => (globalThis as unknown as PageGlobals).posthog.identify('user-42', { plan: 'pro' }))

        const stored = await eventually(
          'the $pageview, $autocapture and $identify events stored',
          () => storedEvents(fleet),
          (events) => ['$pageview', '$autocapture', '$identify'].every((name) => events.some((e) => e.event === name)),
          30_000,
        ).catch((err: Error) => {
          throw new Error(
            `${err.message}; the page's requests to capture: ${JSON.stringify(seen.captureRequests)}, problems: ${seen.problems.join('; ')}, console:\n${seen.console.join('\n')}`,
          )
        })
        const pageview = stored.find((e) => e.event === '$pageview')!
        assert.equal(pageview.distinct_id, anonymousId, '$pageview is from the anonymous visitor')
        assert.equal(pageview.properties.$current_url, `${site.url}?__posthog_debug=true`)
        const click = stored.find((e) => e.event === '$autocapture')!
        assert.equal(click.distinct_id, anonymousId, 'the click was before identify')
        assert.equal(click.properties.$event_type, 'click')
        assert.equal(click.properties.$el_text, 'Buy the blue one')
        assert.match(String(click.properties.$elements_chain), /^button/, 'the elements chain starts at the button')
        const identify = stored.find((e) => e.event === '$identify')!
        assert.equal(identify.distinct_id, 'user-42')
        assert.equal(identify.properties.$anon_distinct_id, anonymousId, '$identify links the anonymous visitor')
        assert.equal(identify.properties.$lib, 'web')

        assert.deepEqual(flags, [], 'no feature flags')
        const answered = (p: string) => seen.captureRequests.filter((r) => r.path === p)
        assert.ok(
          answered(`/array/${token}/${configPath}`).some((r) => r.status === 200),
          `the config was loaded from /array/<token>/${configPath}: ${JSON.stringify(seen.captureRequests)}`,
        )
        assert.ok(
          answered('/flags/').some((r) => r.status === 200),
          `flags were loaded: ${JSON.stringify(seen.captureRequests)}`,
        )
        assert.deepEqual(seen.problems, [], 'no failed request or console error in the page')
      } finally {
        await context.close()
        await site.close()
      }
    })
  }
})
