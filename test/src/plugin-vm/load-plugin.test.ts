import assert from 'assert/strict'
import { execFileSync } from 'child_process'
import { mkdtempSync, promises as fs, readFileSync, rmSync } from 'fs'
import { tmpdir } from 'os'
import { join } from 'path'
import { parsePluginJson, PluginLoadError, readArchiveBuffer, readPlugin, readPluginFiles, sourceFromFiles } from '@plugin-server/plugin-vm'
import { makeZip, paxData, storedZipBomb, tarData, tarHeader } from '../harness/archives'
import { eventually } from '../harness/fleet'
import { fixture, loadCode, rejection, sourceFromCode } from './helpers'

describe('plugin-vm: loading plugins', () => {
  let tmp: string
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'plugin-vm-load-'))
  })
  after(() => rmSync(tmp, { recursive: true, force: true }))

  describe('plugin.json validation', () => {
    it('requires name and names the field', () => {
      assert.throws(() => parsePluginJson('{"config": []}'), /plugin.json: name is required/)
    })
    it('names the offending config field', () => {
      assert.throws(
        () => parsePluginJson('{"name":"x","config":[{"key":"a","type":"number"}]}'),
        /config\[0\]\.type must be one of string, json, attachment, choice/,
      )
      assert.throws(() => parsePluginJson('{"name":"x","config":[{"key":"a","type":"choice"}]}'), /config\[0\]\.choices is required/)
      assert.throws(() => parsePluginJson('{"name":"x","config":[{"key":"a","required":"yes"}]}'), /config\[0\]\.required must be a boolean/)
      assert.throws(() => parsePluginJson('not json'), /plugin.json: is not valid JSON/)
    })
    it('refuses a config key every JavaScript object has (a required "constructor" passed with no value given), naming the field', () => {
      for (const key of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
        assert.throws(() => parsePluginJson(JSON.stringify({ name: 'x', config: [{ key: 'fine' }, { key, required: true }] })), {
          message: `plugin.json: config[1].key ${JSON.stringify(key)} is a name every JavaScript object has: choose another`,
        })
      }
      assert.equal(parsePluginJson('{"name":"x","config":[{"key":"proto"},{"key":"__proto"}]}').config.length, 2)
    })
    it('reads the older form of config, an object of fields by key, as PostHog did: each field with its key, in `order`', () => {
      const { config } = parsePluginJson(
        JSON.stringify({
          name: 'maxmind',
          config: {
            localityLanguage: { name: 'Language', type: 'string', default: 'en', order: 2 },
            maxmindKey: { name: 'Key', type: 'string', required: true, secret: true, order: 1 },
            note: { name: 'No order', type: 'string' },
          },
        }),
      )
      assert.deepEqual(
        config.map((f) => [f.key, f.name, f.required ?? false]),
        [
          ['maxmindKey', 'Key', true],
          ['localityLanguage', 'Language', false],
          ['note', 'No order', false],
        ],
      )
      assert.throws(() => parsePluginJson('{"name":"x","config":{"a":{"type":"number"}}}'), /plugin.json: config\.a\.type must be one of/)
      assert.throws(
        () => parsePluginJson('{"name":"x","config":{"constructor":{"required":true}}}'),
        /config\.constructor\.key "constructor" is a name every JavaScript object has/,
      )
      assert.throws(() => parsePluginJson('{"name":"x","config":"a"}'), /plugin.json: config must be an array \(or an object of fields by key\)/)
    })
    it('refuses a plugin.json over 1 MB, naming the limit', () => {
      assert.throws(() => parsePluginJson(JSON.stringify({ name: 'x', description: 'x'.repeat(1024 * 1024) })), {
        message: 'plugin.json: is larger than 1048576 bytes',
      })
    })
    it('accepts a json field, as @posthog/plugin-scaffold declares it', () => {
      const json = parsePluginJson('{"name":"x","config":[{"key":"mapping","type":"json","default":"{}"}]}')
      assert.equal(json.config[0].type, 'json')
    })
    it('keeps unknown keys and accepts markdown-only and deprecated order', () => {
      const json = parsePluginJson('{"name":"x","posthogVersion":">=1","config":[{"markdown":"hi"},{"key":"a","order":2,"secret":true,"hint":"h"}]}')
      assert.equal(json.posthogVersion, '>=1')
      assert.equal(json.config.length, 2)
    })
  })

  describe('entry resolution and compile', () => {
    for (const entry of ['index.ts', 'index.js', 'src/index.ts', 'dist/index.js']) {
      it(`falls back to ${entry} when main is absent`, async () => {
        const source = await sourceFromFiles(
          new Map([
            ['plugin.json', Buffer.from('{"name":"fb"}')],
            [entry, Buffer.from('export function processEvent(e) { return e }')],
          ]),
        )
        assert.equal(source.entry, entry)
      })
    }
    it('reports a missing main file', async () => {
      const error = await rejection(sourceFromFiles(new Map([['plugin.json', Buffer.from('{"name":"m","main":"nope.js"}')]])))
      assert.match(error.message, /main file "nope.js"/)
    })
    it('refuses, naming the file and line, a file nesting brackets more than 1 000 deep, which esbuild compiled at up to 1 GB or died on; 1 000 compile', async () => {
      const nested = (depth: number) => `export const data = ${'['.repeat(depth)}${']'.repeat(depth)}\nexport function processEvent(e) { return e }`
      // esbuild says where an imported file was imported from.
      for (const [file, depth, where] of [
        ['index.ts', 1_000_000, ''],
        ['lib/data.json', 1001, 'index.ts:1: '],
      ] as const) {
        const files = new Map([
          ['plugin.json', Buffer.from('{"name":"deep","main":"index.ts"}')],
          [
            'index.ts',
            Buffer.from(
              file === 'index.ts' ? nested(depth) : `import data from './lib/data.json'\nexport function processEvent(e) { e.n = data.length; return e }`,
            ),
          ],
          ['lib/data.json', Buffer.from(`${'['.repeat(depth)}${']'.repeat(depth)}`)],
        ])
        const error = await rejection(sourceFromFiles(files))
        assert.ok(error instanceof PluginLoadError)
        assert.equal(
          error.message,
          `plugin deep failed to compile: ${where}${file}: brackets nest more than 1000 deep at line 1, deeper than esbuild compiles safely`,
        )
      }
      await sourceFromCode(nested(1000))
      // Closing brackets in a comment do not make room for opening ones after it.
      const comment = `/* ${']'.repeat(3000)} */\nexport const data = ${'['.repeat(1001)}${']'.repeat(1001)}\nexport function processEvent(e) { return e }`
      assert.match((await rejection(sourceFromCode(comment))).message, /index\.ts: brackets nest more than 1000 deep at line 2/)
    })

    it('compiles on a new esbuild service after the one it had died, instead of failing every later compile of the process', async () => {
      await sourceFromCode('export function processEvent(e) { return e }')
      // Every esbuild process under this one (the live service among them; others may be ones stopped and not yet reaped).
      const children = execFileSync('pgrep', ['-P', String(process.pid), 'esbuild'])
        .toString()
        .trim()
        .split('\n')
        .map(Number)
      const gone = (pid: number) => {
        try {
          // Gone, or a zombie: dead either way.
          return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? true
        } catch {
          return true
        }
      }
      for (const pid of children) if (!gone(pid)) process.kill(pid, 'SIGKILL')
      await eventually('every esbuild process dead', async () => children.every(gone), Boolean, 5000)
      const source = await sourceFromCode('export function processEvent(e) { e.ok = true; return e }')
      assert.match(source.code, /e\.ok = true/)
      // Killed under a compile's feet: the write finds it gone (`The service was stopped: write EPIPE`).
      const live = execFileSync('pgrep', ['-P', String(process.pid), 'esbuild'])
        .toString()
        .trim()
        .split('\n')
        .map(Number)
        .filter((pid) => !gone(pid))
      const compiling = sourceFromCode('export function processEvent(e) { e.again = true; return e }')
      for (const pid of live) process.kill(pid, 'SIGKILL')
      assert.match((await compiling).code, /e\.again = true/)
      assert.match((await sourceFromCode('export function processEvent(e) { e.after = true; return e }')).code, /e\.after = true/)
    })

    it("is not fooled into stopping a live esbuild service by a plugin importing a module named like esbuild's own failure, which left other plugins' compiles unanswered", async () => {
      // Large enough to be still compiling when the spoof's failure comes back.
      const filler = Array.from({ length: 40_000 }, (_, i) => `export const v${i} = { a: [${i}, '${i}'], b: () => ${i} }`).join('\n')
      const others = Array.from({ length: 3 }, (_, i) => sourceFromCode(`${filler}\nexport function processEvent(e) { e.n = ${i}; return e }`))
      const spoof = sourceFromCode(`import x from 'The service is no longer running'\nexport function processEvent(e) { return x(e) }`)
      assert.match((await rejection(spoof)).message, /module "The service is no longer running" is not available to plugins/)
      const compiled = await Promise.all(others)
      assert.deepEqual(
        compiled.map((s) => /e\.n = (\d)/.exec(s.code)?.[1]),
        ['0', '1', '2'],
      )
    })

    it('fails on an unknown module, naming it', async () => {
      const error = await rejection(sourceFromCode(`import x from 'left-pad'; export function processEvent(e) { return x(e) }`))
      assert.ok(error instanceof PluginLoadError)
      assert.match(error.message, /module "left-pad" is not available to plugins/)
    })
    it('reports syntax errors with file and line', async () => {
      const error = await rejection(sourceFromCode('export function processEvent(e) {\n  return e +\n}'))
      assert.match(error.message, /failed to compile: index.ts:3/)
    })
    it('compiles .js as TypeScript and drops type-only imports', async () => {
      const source = await sourceFromCode(
        `import type { PluginEvent } from '@posthog/plugin-scaffold'\nexport function processEvent(e: PluginEvent): PluginEvent { return e }`,
        'index.js',
      )
      assert.deepEqual(source.imports, [])
    })
    it('bundles relative imports of a multi-file plugin', async () => {
      const source = await readPlugin(fixture('multi-file'))
      assert.equal(source.entry, 'src/index.ts')
      assert.deepEqual(source.imports, ['crypto'])
    })
  })

  describe('imports of what a bridged module does not offer', () => {
    const checked = (code: string) =>
      sourceFromFiles(
        new Map([
          ['plugin.json', Buffer.from(JSON.stringify({ name: 'kinesis-like', main: 'index.ts' }))],
          ['index.ts', Buffer.from(code)],
        ]),
        { checkImports: true },
      )
    it('refuses a named import of a class the module does not offer, naming the file, the module, the member and what it offers', async () => {
      const error = await rejection(checked(`import { S3, Kinesis } from 'aws-sdk'\nexport async function setupPlugin() { new Kinesis(); new S3() }`))
      assert.ok(error instanceof PluginLoadError)
      assert.equal(
        error.message,
        'plugin kinesis-like imports what a bridged module does not offer: index.ts:1: aws-sdk: "Kinesis" is not available to plugins (aws-sdk offers: S3, config)',
      )
    })
    it("refuses a namespace import's class the module does not offer", async () => {
      const error = await rejection(
        checked(
          `import * as AWS from 'aws-sdk'\nimport { BigQuery } from '@google-cloud/bigquery'\nexport async function setupPlugin() {\n  new AWS.SQS(); new BigQuery()\n}`,
        ),
      )
      assert.match(error.message, /index\.ts:4: aws-sdk: "SQS" is not available to plugins \(aws-sdk offers: S3, config\)$/)
    })
    it('accepts what the module offers, type-only imports, lower-case feature checks, deep imports and require', async () => {
      const source = await checked(
        [
          `import { S3, AWSError, config } from 'aws-sdk'`,
          `import * as pg from 'pg'`,
          `import S3Client from 'aws-sdk/clients/s3'`,
          `import AWS from 'aws-sdk'`,
          `let failed: AWSError | undefined`,
          `export async function setupPlugin() { config.update({}); if (pg.native) return; new pg.Client(); new S3Client(); new S3(); return [AWS.Whatever, require('aws-sdk').Kinesis, failed] }`,
        ].join('\n'),
      )
      assert.deepEqual(source.imports, ['aws-sdk', 'aws-sdk/clients/s3', 'pg'])
    })
    it('leaves a stored plugin to load as it did when installed (the check is for installs and plugin run)', async () => {
      const source = await sourceFromCode(`import { Kinesis } from 'aws-sdk'\nexport async function setupPlugin() { new Kinesis() }`)
      assert.deepEqual(source.imports, ['aws-sdk'])
    })
  })

  describe('export styles', () => {
    const styles: Record<string, string> = {
      'export function': `export function processEvent(e) { e.properties.s = 1; return e }`,
      'export const': `export const processEvent = (e) => { e.properties.s = 1; return e }`,
      'export default': `export default { processEvent(e) { e.properties.s = 1; return e } }`,
      'module.exports': `module.exports = { processEvent: (e) => { e.properties.s = 1; return e } }`,
      'exports.default': `exports.default = { processEvent: (e) => { e.properties.s = 1; return e } }`,
      'legacy top-level function': `function processEvent(e) { e.properties.s = 1; return e }`,
    }
    for (const [style, code] of Object.entries(styles)) {
      it(style, async () => {
        const { instance } = await loadCode(code)
        try {
          assert.deepEqual(instance.methods, ['processEvent'])
          const [result] = await instance.processEventBatch([{ event: 'e', properties: {} }])
          assert.deepEqual(result, { ok: true, event: { event: 'e', properties: { s: 1 } } })
        } finally {
          instance.dispose()
        }
      })
    }
  })

  describe('what a module declares', () => {
    const refusals: [string, string, RegExp][] = [
      [
        'more than 100 metrics',
        `export const metrics = Object.fromEntries(Array.from({ length: 101 }, (_, i) => ['m' + i, 'sum']))`,
        /failed to load: exports 101 metrics, more than the limit of 100 per plugin/,
      ],
      [
        'a metric name longer than 128 characters',
        `export const metrics = { ['m'.repeat(129)]: 'max' }`,
        /failed to load: metric name "m{60}…" is longer than the limit of 128 characters/,
      ],
      ['a metric name with a newline', `export const metrics = { 'a\\nb': 'sum' }`, /failed to load: metric name "a\\nb" may only hold letters, digits/],
      [
        'a job name longer than 200 characters',
        `export const jobs = { ['j'.repeat(201)]: async () => {} }`,
        /failed to load: job name "j{60}…" is longer than the limit of 200 characters/,
      ],
    ]
    for (const [what, code, expected] of refusals) {
      it(`refuses to load a plugin declaring ${what}, naming the limit`, async () => {
        const error = await rejection(loadCode(code))
        assert.ok(error instanceof PluginLoadError, String(error))
        assert.match(error.message, expected)
      })
    }

    it("loads the metrics and jobs of PostHog's plugins: 100 metrics of 128 characters, job names of 200", async () => {
      const { instance } = await loadCode(`
        export const metrics = { events_enriched: 'sum', 'metric.2': 'max', 'Metric 3-a:b': 'min', ...Object.fromEntries(Array.from({ length: 97 }, (_, i) => [String(i).padStart(128, 'm'), 'sum'])) }
        export const jobs = { ['j'.repeat(200)]: async () => {}, 'export batch': async () => {} }
      `)
      try {
        assert.equal(Object.keys(instance.metrics).length, 100)
        assert.equal(instance.jobNames.length, 2)
      } finally {
        instance.dispose()
      }
    })
  })

  describe('what a module declared, checked again at each call (the sandbox shares its realm with the plugin)', () => {
    // Replacing Object.entries before meta is made handed the plugin functions for names it never declared.
    const FORGER = `
      const entries = Object.entries
      Object.entries = (o) => (o && Object.getPrototypeOf(o) === null && o.m === 'sum')
        ? [['m', 'sum'], ['forged' + 'x'.repeat(1000), 'sum'], ['m2', 'sum']]
        : entries(o)
      const iterate = Array.prototype[Symbol.iterator]
      Array.prototype[Symbol.iterator] = function () {
        return iterate.call(this.length === 1 && this[0] === 'declared' ? ['declared', 'forged job'] : this)
      }
      export const metrics = { m: 'sum', m2: 'max' }
      export const jobs = { declared: async () => {} }
      export async function processEvent(e, { metrics, jobs }) {
        for (const name of Object.keys(metrics)) try { metrics[name].increment(1) } catch {}
        const refused = []
        for (const name of ['declared', 'forged job']) {
          try { await jobs[name]({}).runNow() } catch (error) { refused.push(error.message) }
        }
        return { ...e, refused }
      }`

    it('updates only metrics it declared, with the operation it declared, and enqueues only jobs it exports', async () => {
      const { host, instance } = await loadCode(FORGER)
      try {
        const [result] = await instance.processEventBatch([{ event: 'e', properties: {} }])
        assert.ok(result.ok, JSON.stringify(result))
        assert.deepEqual(
          host.metricUpdates.map((u) => u.name),
          ['m'],
        )
        assert.deepEqual(
          host.jobs.map((j) => j.name),
          ['declared'],
        )
        const refused = (result as unknown as { event: { refused: string[] } }).event.refused
        assert.equal(refused.length, 1, JSON.stringify(refused))
        assert.match(refused[0], /jobs\."forged job" is not a job this plugin exports/)
      } finally {
        instance.dispose()
      }
    })
  })

  describe('archives', () => {
    it('reads a .tar.gz in the GitHub layout (one top-level folder)', async () => {
      const root = join(tmp, 'gh')
      await fs.mkdir(join(root, 'hello-fixture-abc123'), { recursive: true })
      await fs.cp(fixture('hello-world'), join(root, 'hello-fixture-abc123'), { recursive: true })
      const archive = join(tmp, 'hello.tar.gz')
      execFileSync('tar', ['-czf', archive, '-C', root, 'hello-fixture-abc123'])
      const source = await readPlugin(archive)
      assert.equal(source.name, 'Hello Fixture')
      assert.equal(source.entry, 'index.js')
    })
    it('reads a .zip, flat or with a top-level folder', async () => {
      const files = await readPluginFiles(fixture('multi-file'))
      const flat = join(tmp, 'flat.zip')
      await fs.writeFile(flat, makeZip(files))
      assert.equal((await readPlugin(flat)).name, 'Multi File Fixture')
      const nested = join(tmp, 'nested.zip')
      await fs.writeFile(nested, makeZip(new Map([...files].map(([p, d]) => [`repo-main/${p}`, d]))))
      assert.equal((await readPlugin(nested)).entry, 'src/index.ts')
    })
    it('rejects entries that escape the plugin folder', async () => {
      const evil = join(tmp, 'evil.zip')
      await fs.writeFile(evil, makeZip(new Map([['../plugin.json', Buffer.from('{"name":"x"}')]])))
      assert.match((await rejection(readPlugin(evil))).message, /escapes the plugin folder/)
    })
    it('refuses a zip whose stored entries declare less than they hold, before copying them past the size limit', () => {
      // 300 entries pointing at one 1 MB stored file would hold 300 MB from a 1 MB archive.
      const bomb = storedZipBomb(Buffer.alloc(1024 * 1024, 'x'), 300)
      const before = process.memoryUsage().arrayBuffers
      assert.throws(() => readArchiveBuffer(bomb, 'bomb.zip'), /zip entry f0\.txt is corrupt \(stores 1048576 bytes, declares 0\)/)
      assert.ok(process.memoryUsage().arrayBuffers - before < 16 * 1024 * 1024, 'nothing was copied')
    })
    it('refuses a zip of honestly declared entries that all point at one file once they pass the size limit', () => {
      const mb = 1024 * 1024
      assert.throws(() => readArchiveBuffer(storedZipBomb(Buffer.alloc(mb, 'x'), 60, mb), 'bomb.zip'), /archive is too large \(limit 52428800 bytes\)/)
    })
    describe('tar headers, read as GNU tar reads them', () => {
      const pluginJson = Buffer.from('{"name":"tar-x","main":"index.js"}')
      const withPluginJson = (...blocks: Buffer[]) =>
        Buffer.concat([tarHeader('plugin.json', pluginJson.length, '0'), tarData(pluginJson), ...blocks, Buffer.alloc(1024)])

      it('refuses an entry whose size is not an octal number, naming it: a negative one sent the reader back to its own header, forever', () => {
        for (const size of ['-1000\0', '-2000\0', '9\0', '\x80\0\0\0\0\0\0\0\0\0\0\x01']) {
          const archive = withPluginJson(tarHeader('dir/', size, '5'))
          assert.throws(
            () => readArchiveBuffer(archive, 'negative.tar'),
            /^PluginLoadError: archive is not a tar archive this server reads: the size of the entry at byte 1024 is not an octal number$/,
            JSON.stringify(size),
          )
        }
      })

      it('refuses a header whose checksum is wrong', () => {
        assert.throws(
          () => readArchiveBuffer(withPluginJson(tarHeader('index.js', 0, '0', '0000001\0')), 'corrupt.tar'),
          /the header at byte 1024 has a wrong checksum/,
        )
      })

      it('reads an entry at the size its pax header gives, as GNU tar does, so the files installed are the files a reviewer unpacks', async () => {
        const code = Buffer.from('module.exports.processEvent = (event) => event\n')
        // The entry's own header says 0 bytes; the pax header before it says how many it has.
        const archive = withPluginJson(
          tarHeader('PaxHeaders/index.js', paxData({ size: String(code.length) }).length, 'x'),
          tarData(paxData({ size: String(code.length) })),
          tarHeader('index.js', 0, '0'),
          tarData(code),
        )
        const files = readArchiveBuffer(archive, 'pax.tar')
        const tarball = join(tmp, 'pax.tar')
        await fs.writeFile(tarball, archive)
        const unpacked = execFileSync('tar', ['-xOf', tarball, 'index.js'])
        assert.deepEqual(unpacked, code, 'GNU tar reads the pax size')
        assert.deepEqual(files.get('index.js'), code)
      })

      it('gives a pax size to the file entry after it, not to a GNU long-name header between them, as GNU tar does', async () => {
        const code = Buffer.from('module.exports.processEvent = (event) => event\n')
        const longName = Buffer.from('lib/a-long-name.js\0')
        const pax = paxData({ size: String(code.length) })
        const archive = withPluginJson(
          tarHeader('PaxHeaders/x', pax.length, 'x'),
          tarData(pax),
          tarHeader('././@LongLink', longName.length, 'L'),
          tarData(longName),
          tarHeader('lib/a-long-name.js', 0, '0'),
          tarData(code),
        )
        const tarball = join(tmp, 'pax-long.tar')
        await fs.writeFile(tarball, archive)
        assert.deepEqual(execFileSync('tar', ['-xOf', tarball, 'lib/a-long-name.js']), code, 'GNU tar reads it so')
        assert.deepEqual(readArchiveBuffer(archive, 'pax-long.tar').get('lib/a-long-name.js'), code)
      })
    })
    it('refuses an archive with two entries for one path', async () => {
      const plugin = Buffer.from('{"name":"x","main":"index.js"}')
      assert.throws(
        () =>
          readArchiveBuffer(
            makeZip(
              new Map([
                ['plugin.json', plugin],
                ['./plugin.json', plugin],
              ]),
            ),
            'twice.zip',
          ),
        /archive has two entries for "plugin.json"/,
      )
      const root = join(tmp, 'twice')
      await fs.mkdir(root, { recursive: true })
      await fs.writeFile(join(root, 'plugin.json'), plugin)
      const tarball = join(tmp, 'twice.tar')
      execFileSync('tar', ['-cf', tarball, '-C', root, 'plugin.json'])
      execFileSync('tar', ['-rf', tarball, '-C', root, 'plugin.json'])
      assert.match((await rejection(readPlugin(tarball))).message, /archive has two entries named "plugin\.json"/)
    })
    it('refuses a plugin folder holding more than an archive may', async () => {
      const root = join(tmp, 'huge')
      await fs.mkdir(join(root, 'node_modules'), { recursive: true })
      await fs.writeFile(join(root, 'plugin.json'), '{"name":"huge","main":"index.js"}')
      // Sparse files: the size is counted before anything is read.
      await fs.writeFile(join(root, 'node_modules', 'dep.bin'), '')
      await fs.truncate(join(root, 'node_modules', 'dep.bin'), 60 * 1024 * 1024)
      assert.equal((await readPluginFiles(root)).size, 1, 'node_modules is not counted')
      await fs.writeFile(join(root, 'data.bin'), '')
      await fs.truncate(join(root, 'data.bin'), 51 * 1024 * 1024)
      assert.match((await rejection(readPluginFiles(root))).message, /plugin folder .*huge holds more than 52428800 bytes/)
    })
    it('reports a missing path', async () => {
      assert.match((await rejection(readPlugin(join(tmp, 'nothing-here')))).message, /does not exist/)
    })
  })
})
