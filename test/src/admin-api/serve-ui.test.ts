import assert from 'node:assert/strict'
import { promises as fs } from 'node:fs'
import http from 'node:http'
import { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { AdminUiOptions, createAdminUi } from '@plugin-server/admin-api'
import { REPO_ROOT } from '../harness/processes'

const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'none'; base-uri 'none'"
const INDEX = '<!doctype html><div id="app"></div><script type="module" src="/admin/assets/index-abc123.js"></script>'

interface Reply {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}

/** node:http with a path option rather than fetch or a URL: those resolve `..` away, and these tests need the raw path sent. */
function request(base: string, rawPath: string, method = 'GET', headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(base)
    const req = http.request({ hostname, port, path: rawPath, method, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('createAdminUi', () => {
  let dir: string
  let dist: string
  let servers: http.Server[] = []

  async function start(options: AdminUiOptions): Promise<string> {
    const ui = createAdminUi(options)
    const server = http.createServer((req, res) => {
      void ui(req, res).then((handled) => {
        if (!handled) res.writeHead(418).end('not mine')
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    servers.push(server)
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  }

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ps-ui-'))
    dist = path.join(dir, 'dist')
    await fs.mkdir(path.join(dist, 'assets'), { recursive: true })
    await fs.writeFile(path.join(dist, 'index.html'), INDEX)
    await fs.writeFile(path.join(dist, 'assets/index-abc123.js'), 'console.log("ui")')
    await fs.writeFile(path.join(dist, 'assets/index-abc123.css'), 'body{}')
    await fs.writeFile(path.join(dist, 'robots.txt'), 'User-agent: *')
    await fs.writeFile(path.join(dir, 'secret.txt'), 'outside the dist folder')
  })

  afterEach(async () => {
    for (const server of servers) server.close()
    servers = []
    await fs.rm(dir, { recursive: true, force: true })
  })

  it('redirects /admin to /admin/ and serves index.html there, never cached, with the CSP', async () => {
    const base = await start({ distDir: dist })
    const redirect = await request(base, '/admin?x=1')
    assert.equal(redirect.status, 308)
    assert.equal(redirect.headers.location, '/admin/?x=1')

    const index = await request(base, '/admin/')
    assert.equal(index.status, 200)
    assert.equal(index.body, INDEX)
    assert.equal(index.headers['content-type'], 'text/html; charset=utf-8')
    assert.equal(index.headers['cache-control'], 'no-cache')
    assert.equal(index.headers['content-security-policy'], CSP)
    assert.equal(index.headers['x-content-type-options'], 'nosniff')
    assert.equal((await request(base, '/admin/index.html')).body, INDEX)
  })

  it('serves hashed assets as immutable with their content type, and other files uncached', async () => {
    const base = await start({ distDir: dist })
    const js = await request(base, '/admin/assets/index-abc123.js')
    assert.equal(js.status, 200)
    assert.equal(js.body, 'console.log("ui")')
    assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8')
    assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable')
    assert.equal(js.headers['content-security-policy'], CSP)

    const css = await request(base, '/admin/assets/index-abc123.css')
    assert.equal(css.headers['content-type'], 'text/css; charset=utf-8')

    const txt = await request(base, '/admin/robots.txt')
    assert.equal(txt.headers['content-type'], 'text/plain; charset=utf-8')
    assert.equal(txt.headers['cache-control'], 'no-cache')
  })

  it('answers HEAD without a body and a matching ETag with 304', async () => {
    const base = await start({ distDir: dist })
    const head = await request(base, '/admin/assets/index-abc123.js', 'HEAD')
    assert.equal(head.status, 200)
    assert.equal(head.body, '')
    assert.equal(head.headers['content-length'], String('console.log("ui")'.length))
    const again = await request(base, '/admin/assets/index-abc123.js', 'GET', { 'if-none-match': String(head.headers.etag) })
    assert.equal(again.status, 304)
    assert.equal(again.body, '')
  })

  it('falls back to index.html for app paths, and is a 404 for missing files', async () => {
    const base = await start({ distDir: dist })
    for (const appPath of ['/admin/configs', '/admin/configs/12/logs', '/admin/plugins/']) {
      const reply = await request(base, appPath)
      assert.equal(reply.status, 200, appPath)
      assert.equal(reply.body, INDEX, appPath)
      assert.equal(reply.headers['cache-control'], 'no-cache', appPath)
    }
    const missingAsset = await request(base, '/admin/assets/index-old999.js')
    assert.equal(missingAsset.status, 404)
    assert.equal(missingAsset.headers['content-type'], 'text/plain; charset=utf-8')
    assert.equal((await request(base, '/admin/favicon.ico')).status, 404)
  })

  it('refuses paths that leave the dist folder', async () => {
    const base = await start({ distDir: dist })
    for (const attack of [
      '/admin/..%2fsecret.txt',
      '/admin/assets/..%2f..%2fsecret.txt',
      '/admin/%2e%2e%2fsecret.txt',
      '/admin/..%5csecret.txt',
      '/admin/x%00.js',
    ]) {
      const reply = await request(base, attack)
      assert.ok(!reply.body.includes('outside the dist folder'), `${attack} served the file outside dist`)
      assert.ok([400, 403, 404].includes(reply.status) || (reply.status === 200 && reply.body === INDEX), `${attack}: ${reply.status}`)
    }
    assert.equal((await request(base, '/admin/..%2fsecret.txt')).status, 403)
    // Plain `..` segments are resolved by the URL parser first and end up outside /admin/.
    const dotted = await request(base, '/admin/../secret.txt')
    assert.equal(dotted.status, 418)
  })

  it('leaves every other path alone and answers GET and HEAD only', async () => {
    const base = await start({ distDir: dist })
    for (const other of ['/', '/api/plugins', '/administrator', '/capture']) assert.equal((await request(base, other)).status, 418, other)
    const post = await request(base, '/admin/', 'POST')
    assert.equal(post.status, 405)
    assert.equal(post.headers.allow, 'GET, HEAD')
  })

  it('is a 503 saying to build when the UI has not been built', async () => {
    const base = await start({ distDir: path.join(dir, 'not-built') })
    const reply = await request(base, '/admin/')
    assert.equal(reply.status, 503)
    assert.match(reply.body, /npm run build/)
    assert.equal(reply.headers['content-security-policy'], CSP)
  })

  it('serves the admin-ui workspace build by default', async function () {
    const built = path.join(REPO_ROOT, 'libs/admin-ui/dist/index.html')
    if (!(await fs.stat(built).catch(() => null))) this.skip()
    const base = await start({})
    const index = await request(base, '/admin/')
    assert.equal(index.status, 200)
    assert.equal(index.body, await fs.readFile(built, 'utf8'))
    const script = /src="\/admin\/(assets\/[^"]+\.js)"/.exec(index.body)?.[1]
    assert.ok(script, 'index.html loads a script from /admin/assets/')
    const js = await request(base, `/admin/${script}`)
    assert.equal(js.status, 200)
    assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable')
  })
})
