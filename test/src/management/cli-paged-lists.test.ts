import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import { formatHuman } from '../../../apps/cli/dist/output'
import { CLI_PAGE_SIZE, printAllPages } from '../../../apps/cli/dist/print-pages'
import { runCli } from '../harness/processes'
import { cliEnv, ManagementHarness, startManagement } from './management-fixture'

interface Row {
  id: number
  name: string | null
  note?: string
}

/** What printAllPages writes for `rows` read `size` at a time, by id, with the reads it made. */
async function printed(rows: Row[], size: number, json: boolean): Promise<{ text: string; reads: number }> {
  const stream = new PassThrough()
  const chunks: Buffer[] = []
  stream.on('data', (chunk: Buffer) => chunks.push(chunk))
  let reads = 0
  await printAllPages<Row>(
    async (last, n) => {
      reads++
      return rows.filter((r) => r.id > (last?.id ?? 0)).slice(0, n)
    },
    { size, stream, json },
  )
  return { text: Buffer.concat(chunks).toString('utf8'), reads }
}

describe('the CLI prints a long list whole, reading it a page at a time', () => {
  const rows: Row[] = Array.from({ length: 7 }, (_, i) => ({ id: i + 1, name: i === 3 ? null : `row\n${'w'.repeat(i * 12)}\u2028` }))
  rows[5].note = 'only this row has a note'

  it('writes the JSON of every row exactly as printing the whole array at once did', async () => {
    for (const size of [1, 3, 7, 100]) {
      const { text, reads } = await printed(rows, size, true)
      assert.equal(text, `${JSON.stringify(rows, null, 2)}\n`, `pages of ${size}`)
      assert.equal(reads, Math.floor(rows.length / size) + 1, `pages of ${size} are read once each, and one more to see the end`)
    }
    assert.equal((await printed([], 3, true)).text, '[]\n')
  })

  it('prints the same aligned table as the whole array did, columns measured over every page', async () => {
    for (const size of [1, 3, 100]) assert.equal((await printed(rows, size, false)).text, `${formatHuman(rows)}\n`, `pages of ${size}`)
    assert.equal((await printed([], 3, false)).text, '(none)\n')
  })

  describe('team list and plugin list', () => {
    let h: ManagementHarness
    let env: Record<string, string>

    before(async () => {
      h = await startManagement()
      env = cliEnv(h)
    })
    after(() => h.close())

    it('team list prints every team, more than one read of them, as one JSON array in id order', async () => {
      const count = CLI_PAGE_SIZE * 2 + 37
      await h.db.pool.query(`INSERT INTO teams (name, api_token) SELECT 'team ' || n, 'phc_cli_' || n FROM generate_series(1, $1) AS n`, [count])
      const result = await runCli(['team', 'list'], env)
      assert.equal(result.code, 0, result.stderr)
      const { rows: teams } = await h.db.pool.query('SELECT * FROM teams ORDER BY id')
      assert.equal(teams.length, count)
      assert.equal(result.stdout, `${JSON.stringify(teams, null, 2)}\n`)
    })

    it('plugin list prints every plugin, more than one read of them, as one JSON array in name order', async () => {
      const count = CLI_PAGE_SIZE + 3
      await h.db.pool.query(
        `INSERT INTO plugins (name, plugin_json, content_hash) SELECT 'plugin-' || lpad(n::text, 5, '0'), '{}', md5(n::text) FROM generate_series(1, $1) AS n`,
        [count],
      )
      const result = await runCli(['plugin', 'list'], env)
      assert.equal(result.code, 0, result.stderr)
      const { rows: plugins } = await h.db.pool.query(
        'SELECT id, name, description, url, version, content_hash, config_schema, created_at, updated_at FROM plugins ORDER BY name',
      )
      assert.equal(plugins.length, count)
      assert.equal(result.stdout, `${JSON.stringify(plugins, null, 2)}\n`)
    })
  })
})
