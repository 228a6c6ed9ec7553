import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import ts from 'typescript'
import { REPO_ROOT } from '../harness/processes'

type NextPage = (link: string | null, current: string, origin: string, seen: ReadonlySet<string>, rows: number) => string | null

/** The UI's own rule, compiled here: plain TypeScript, so no browser is needed to check it. */
function loadNextPage(): NextPage {
  const source = fs.readFileSync(path.join(REPO_ROOT, 'libs/admin-ui/src/lib/next-page.ts'), 'utf8')
  const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } })
  const loaded: { exports: { nextPage?: NextPage } } = { exports: {} }
  new Function('module', 'exports', outputText)(loaded, loaded.exports)
  assert.ok(loaded.exports.nextPage, 'next-page.ts exports nextPage')
  return loaded.exports.nextPage
}

describe('the admin UI following a paged list\'s Link rel="next"', () => {
  const origin = 'https://admin.example'
  const nextPage = loadNextPage()

  it('follows the next page the API links to, with its cursor as encoded, and stops where there is none', () => {
    const link = '</api/plugins?limit=2&after=a+b%26c%3E>; rel="next"'
    assert.equal(nextPage(link, '/api/plugins?limit=2', origin, new Set(['/api/plugins?limit=2']), 2), '/api/plugins?limit=2&after=a+b%26c%3E')
    assert.equal(nextPage(null, '/api/teams', origin, new Set(), 3), null)
    assert.equal(nextPage('</api/teams?after=1>; rel="prev"', '/api/teams', origin, new Set(), 3), null)
  })

  it('refuses a link back to a page already read, or from a page without rows, instead of going round for ever', () => {
    const seen = new Set(['/api/teams', '/api/teams?after=5'])
    assert.throws(() => nextPage('</api/teams?after=5>; rel="next"', '/api/teams?after=5', origin, seen, 5), /GET \/api\/teams\?after=5: .*already read/)
    assert.throws(() => nextPage('</api/teams>; rel="next"', '/api/teams?after=5', origin, seen, 5), /already read \(\/api\/teams\)/)
    assert.throws(() => nextPage('</api/teams?after=9>; rel="next"', '/api/teams?after=5', origin, seen, 0), /without rows/)
  })

  it('never follows a link to another origin, which would be sent the operator token', () => {
    for (const link of [
      '<https://evil.example/api/teams?after=1>; rel="next"',
      '<//evil.example/api/teams>; rel="next"',
      '<http://admin.example/api/teams?after=1>; rel="next"',
    ]) {
      assert.throws(() => nextPage(link, '/api/teams', origin, new Set(['/api/teams']), 1), /another origin/, link)
    }
    assert.equal(nextPage('<https://admin.example/api/teams?after=1>; rel="next"', '/api/teams', origin, new Set(['/api/teams']), 1), '/api/teams?after=1')
  })
})
