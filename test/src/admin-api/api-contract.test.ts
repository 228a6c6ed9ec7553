import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { ROUTES } from '@plugin-server/admin-api'
import { ADMIN_ROUTE_KEYS } from '@plugin-server/admin-contract'
import { REPO_ROOT } from '../harness/processes'

const API_MD = path.join(REPO_ROOT, 'libs/admin-api/API.md')
const CONTRACT_SRC = path.join(REPO_ROOT, 'libs/admin-contract/src')

/**
 * `METHOD /path` of every endpoint API.md's tables list, without query strings. A cell may name
 * sibling paths after the first (`POST /api/configs/:id/enable`, `/disable`): each replaces the
 * first one's last segment.
 */
function documentedRoutes(markdown: string): string[] {
  const routes: string[] = []
  for (const line of markdown.split('\n')) {
    const cell = /^\|\s*`(GET|POST|PUT|PATCH|DELETE) (\/api\/[^`]*)`((?:,\s*`\/[^`]+`)*)\s*\|/.exec(line)
    if (!cell) continue
    const [, method, first, siblings] = cell
    const base = first.split('?')[0]
    routes.push(`${method} ${base}`)
    for (const [, sibling] of siblings.matchAll(/`(\/[^`]+)`/g)) routes.push(`${method} ${base.replace(/\/[^/]+$/, sibling.split('?')[0])}`)
  }
  return routes
}

/** Type names API.md uses as shorthand (`PluginConfigView`, `HistoricalRun`, …): a backticked CamelCase word. */
function documentedTypeNames(markdown: string): string[] {
  return [...new Set([...markdown.matchAll(/`([A-Z][a-z]+(?:[A-Z][a-z]+)+)`/g)].map((m) => m[1]))]
}

function contractTypeNames(): Set<string> {
  const names = new Set<string>()
  for (const file of fs.readdirSync(CONTRACT_SRC).filter((f) => f.endsWith('.ts'))) {
    const code = fs.readFileSync(path.join(CONTRACT_SRC, file), 'utf8')
    for (const [, name] of code.matchAll(/^export (?:interface|type) (\w+)/gm)) names.add(name)
  }
  return names
}

const sorted = (keys: Iterable<string>) => [...keys].sort()

describe('Admin API contract (libs/admin-contract) against API.md and the registered routes', () => {
  const markdown = fs.readFileSync(API_MD, 'utf8')
  const documented = documentedRoutes(markdown)
  const registered = ROUTES.map((r) => `${r.method} ${r.pattern}`)

  it('reads the endpoint tables of API.md, including sibling paths in one cell', () => {
    assert.ok(documented.length >= 30, `only ${documented.length} routes parsed from API.md`)
    assert.ok(documented.includes('POST /api/configs/:id/disable'))
    assert.ok(documented.includes('GET /api/configs/:id/logs'), 'the query string is left off')
  })

  it('documents every route admin-api registers, and documents no route it does not register', () => {
    const undocumented = registered.filter((r) => !documented.includes(r))
    const unregistered = documented.filter((r) => !registered.includes(r))
    assert.deepEqual({ undocumented, unregistered }, { undocumented: [], unregistered: [] })
  })

  it('lists each endpoint once in API.md and once among the registered routes', () => {
    assert.equal(new Set(documented).size, documented.length, `repeated in API.md: ${documented.filter((r, i) => documented.indexOf(r) !== i).join(', ')}`)
    assert.equal(new Set(registered).size, registered.length)
  })

  it('has a contract entry for exactly the registered routes', () => {
    assert.deepEqual(sorted(ADMIN_ROUTE_KEYS), sorted(registered))
  })

  it('defines in the contract every type name API.md uses', () => {
    const defined = contractTypeNames()
    const names = documentedTypeNames(markdown)
    assert.ok(names.includes('PluginConfigView') && names.includes('TryResult'), `type names parsed from API.md: ${names.join(', ')}`)
    assert.deepEqual(
      names.filter((n) => !defined.has(n)),
      [],
    )
  })
})
