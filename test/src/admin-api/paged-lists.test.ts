import assert from 'node:assert/strict'
import type http from 'node:http'
import { ManagementHarness, startManagement } from '../management/management-fixture'
import { serveAdminApi } from './serve-admin-api'

const TOKEN = 'test-admin-token-0123456789'

interface Page<T> {
  status: number
  rows: T[]
  /** The `rel="next"` URL, or null. */
  next: string | null
  text: string
}

/** `count` teams named `<prefix>-<n>`, in one statement. */
async function insertTeams(h: ManagementHarness, prefix: string, count: number): Promise<void> {
  await h.db.pool.query(
    `INSERT INTO teams (name, api_token) SELECT $1 || '-' || n, 'phc_' || $1 || '_' || n || '_' || md5(random()::text) FROM generate_series(1, $2) AS n`,
    [prefix, count],
  )
}

/** Plugin rows named `<prefix>-<n>` (n zero-padded, so name order is n's order), without sources: the list reads none. */
async function insertPlugins(h: ManagementHarness, prefix: string, from: number, count: number): Promise<void> {
  await h.db.pool.query(
    `INSERT INTO plugins (name, plugin_json, content_hash)
     SELECT $1 || '-' || lpad(n::text, 5, '0'), '{}', md5(n::text) FROM generate_series($2::int, $2::int + $3::int - 1) AS n`,
    [prefix, from, count],
  )
}

describe('GET /api/teams and GET /api/plugins are keyset pages', () => {
  let h: ManagementHarness
  let server: http.Server
  let base: string

  async function page<T>(url: string): Promise<Page<T>> {
    const res = await fetch(`${base}${url}`, { headers: { authorization: `Bearer ${TOKEN}` } })
    const text = await res.text()
    const link = res.headers.get('link')
    const next = link === null ? null : (/^<([^>]+)>; rel="next"$/.exec(link)?.[1] ?? assert.fail(`not a next link: ${link}`))
    return { status: res.status, rows: res.ok ? (JSON.parse(text) as T[]) : [], next, text }
  }

  async function assertInvalid(url: string, field: string, message: string): Promise<void> {
    const reply = await page(url)
    assert.equal(reply.status, 400, reply.text)
    assert.deepEqual(JSON.parse(reply.text), { error: { code: 'validation_error', message, field } })
  }

  beforeEach(async () => {
    h = await startManagement()
    ;({ server, base } = await serveAdminApi(h, { token: TOKEN }))
  })

  afterEach(async () => {
    server.close()
    await h.close()
  })

  it('answers every team in one array without a Link while they fit in the default page, as before', async () => {
    await insertTeams(h, 'small', 40)
    const reply = await page<{ id: number; name: string; api_token: string }>('/api/teams')
    assert.equal(reply.status, 200)
    assert.equal(reply.next, null)
    assert.equal(reply.rows.length, 40)
    assert.deepEqual(Object.keys(reply.rows[0]).sort(), ['anonymize_ips', 'api_token', 'created_at', 'id', 'name'])
  })

  it('answers the first 1 000 teams by default and links the page after the last of them', async () => {
    await insertTeams(h, 'many', 1_050)
    const first = await page<{ id: number }>('/api/teams')
    assert.equal(first.rows.length, 1_000)
    assert.equal(first.next, `/api/teams?after=${first.rows[999].id}`)
    const second = await page<{ id: number }>(first.next!)
    assert.equal(second.rows.length, 50)
    assert.equal(second.next, null, 'the last page links no further')
  })

  it('walks every team exactly once in id order with the Link, teams added between pages included', async () => {
    await insertTeams(h, 'walk', 25)
    const seen: number[] = []
    let url: string | null = '/api/teams?limit=10'
    let pages = 0
    while (url !== null) {
      const reply: Page<{ id: number }> = await page<{ id: number }>(url)
      assert.equal(reply.status, 200, reply.text)
      assert.ok(reply.rows.length <= 10, `a page of ${reply.rows.length} rows for limit=10`)
      seen.push(...reply.rows.map((t) => t.id))
      // Rows added behind the cursor and ahead of it while a client is paging.
      if (pages === 0) await insertTeams(h, 'added', 7)
      pages++
      url = reply.next
      if (url !== null) assert.match(url, /^\/api\/teams\?limit=10&after=\d+$/)
    }
    const { rows } = await h.db.pool.query<{ id: number }>('SELECT id FROM teams ORDER BY id')
    assert.deepEqual(
      seen,
      rows.map((r) => r.id),
      'each team once, in id order, the ones added included',
    )
    assert.equal(pages, Math.ceil(rows.length / 10))
  })

  it('walks every plugin exactly once in name order, as the list always was, plugins added ahead of the cursor included', async () => {
    await insertPlugins(h, 'p', 1, 12)
    const seen: string[] = []
    let url: string | null = '/api/plugins?limit=5'
    while (url !== null) {
      const reply: Page<{ name: string }> = await page<{ name: string }>(url)
      assert.equal(reply.status, 200, reply.text)
      assert.ok(reply.rows.length <= 5)
      if (seen.length === 0) await insertPlugins(h, 'p', 13, 4)
      seen.push(...reply.rows.map((p) => p.name))
      url = reply.next
    }
    const { rows } = await h.db.pool.query<{ name: string }>('SELECT name FROM plugins ORDER BY name')
    assert.equal(rows.length, 16)
    assert.deepEqual(
      seen,
      rows.map((r) => r.name),
    )
  })

  it("keeps the request's other parameters in the Link and encodes a name cursor", async () => {
    await h.db.pool.query(`INSERT INTO plugins (name, plugin_json, content_hash) VALUES ('a & b <c>', '{}', 'x'), ('zeta', '{}', 'y')`)
    const first = await page<{ name: string }>('/api/plugins?limit=1')
    assert.deepEqual(
      first.rows.map((p) => p.name),
      ['a & b <c>'],
    )
    assert.equal(first.next, '/api/plugins?limit=1&after=a+%26+b+%3Cc%3E')
    assert.deepEqual(
      (await page<{ name: string }>(first.next!)).rows.map((p) => p.name),
      ['zeta'],
    )
  })

  it('refuses a limit or cursor out of range with a 400 naming the parameter', async () => {
    await assertInvalid('/api/teams?limit=0', 'limit', 'limit must be an integer from 1 to 5000')
    await assertInvalid('/api/teams?limit=5001', 'limit', 'limit must be an integer from 1 to 5000')
    await assertInvalid('/api/teams?limit=ten', 'limit', 'limit must be an integer from 1 to 5000')
    await assertInvalid('/api/teams?after=-1', 'after', 'after must be an integer from 0 to 2147483647')
    await assertInvalid('/api/teams?after=2147483648', 'after', 'after must be an integer from 0 to 2147483647')
    await assertInvalid('/api/plugins?limit=1001', 'limit', 'limit must be an integer from 1 to 1000')
    await assertInvalid('/api/plugins?limit=1.5', 'limit', 'limit must be an integer from 1 to 1000')
    assert.equal((await page('/api/teams?limit=5000&after=2147483647')).status, 200, 'the bounds themselves are accepted')
  })
})
