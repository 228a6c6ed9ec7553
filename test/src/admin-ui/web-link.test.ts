import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import ts from 'typescript'
import { REPO_ROOT } from '../harness/processes'

const UI_SRC = path.join(REPO_ROOT, 'libs/admin-ui/src')

/** The UI's own rule, compiled here: it is plain TypeScript, so no browser is needed to check it. */
function loadWebLink(): (url: unknown) => string | null {
  const source = fs.readFileSync(path.join(UI_SRC, 'lib/web-link.ts'), 'utf8')
  const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } })
  const loaded: { exports: { webLink?: (url: unknown) => string | null } } = { exports: {} }
  new Function('module', 'exports', outputText)(loaded, loaded.exports)
  assert.ok(loaded.exports.webLink, 'web-link.ts exports webLink')
  return loaded.exports.webLink
}

describe("the plugin page's link to plugin.json's url (its author may be hostile)", () => {
  it('links only http and https pages; javascript:, data: and anything unparsable are shown as text', () => {
    const webLink = loadWebLink()
    assert.equal(webLink('https://github.com/acme/plugin'), 'https://github.com/acme/plugin')
    assert.equal(webLink('http://example.com/docs'), 'http://example.com/docs')
    for (const hostile of [
      'javascript:alert(document.cookie)',
      ' JavaScript:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'vbscript:x',
      '//evil.example',
      'not a url',
      42,
    ]) {
      assert.equal(webLink(hostile), null, JSON.stringify(hostile))
    }
  })

  it("the plugin page puts plugin.json's url in an href only through that rule", () => {
    const page = fs.readFileSync(path.join(UI_SRC, 'pages/plugins/plugin-detail-page.tsx'), 'utf8')
    assert.doesNotMatch(page, /href=\{json\.url\}/, 'the raw url is never an href')
    assert.match(page, /const link = webLink\(json\.url\)/)
    assert.match(page, /href=\{link\}/)
  })
})
