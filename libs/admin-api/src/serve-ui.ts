import { promises as fs } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import path from 'node:path'
import type { AdminApiHandler } from './interfaces'

const PREFIX = '/admin/'

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
}

/**
 * The UI loads nothing but its own files and talks to nothing but /api on the same origin; plugin
 * Markdown is sanitized before it is shown, and this is the second line should that ever fail.
 * Its forms are all handled in script, so no form may submit anywhere (`form-action` is not
 * covered by default-src), nor may a <base> move relative URLs (`base-uri`).
 */
const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
}

/** Vite puts content-hashed files under assets/: a new build has new names, so they never change. */
const IMMUTABLE = 'public, max-age=31536000, immutable'

export interface AdminUiOptions {
  /** The built UI; by default the dist/ folder of the @plugin-server/admin-ui workspace. */
  distDir?: string
}

function defaultDistDir(): string | null {
  try {
    return path.join(path.dirname(require.resolve('@plugin-server/admin-ui/package.json')), 'dist')
  } catch {
    return null
  }
}

function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...headers })
  res.end(text)
}

async function readFileOrNull(file: string): Promise<{ body: Buffer; mtime: Date } | null> {
  try {
    const stat = await fs.stat(file)
    if (!stat.isFile()) return null
    return { body: await fs.readFile(file), mtime: stat.mtime }
  } catch {
    return null
  }
}

function sendFile(req: IncomingMessage, res: ServerResponse, file: { body: Buffer; mtime: Date }, name: string, cacheControl: string): void {
  const etag = `W/"${file.body.length.toString(16)}-${file.mtime.getTime().toString(16)}"`
  const headers = { ...SECURITY_HEADERS, 'Cache-Control': cacheControl, ETag: etag }
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers).end()
    return
  }
  const type = CONTENT_TYPES[path.extname(name).toLowerCase()] ?? 'application/octet-stream'
  res.writeHead(200, { ...headers, 'Content-Type': type, 'Content-Length': file.body.length })
  res.end(req.method === 'HEAD' ? undefined : file.body)
}

/**
 * Serves the built admin UI under /admin/ (and redirects /admin there); resolves false for any
 * other path. The files hold no data, so no token is asked for: every call the UI makes goes to
 * /api with one. Unknown paths without a file extension get index.html, so a deep link still
 * loads the app.
 */
export function createAdminUi(options: AdminUiOptions = {}): AdminApiHandler {
  const given = options.distDir ?? defaultDistDir()
  const root = given === null ? null : path.resolve(given)
  return async (req, res) => {
    // A target URL cannot read (`GET http://a:99999/e`, which Node takes) is not the UI's: capture answers it 400.
    const url = URL.parse(req.url ?? '/', 'http://admin.invalid')
    if (url === null || (url.pathname !== '/admin' && !url.pathname.startsWith(PREFIX))) return false
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendText(res, 405, 'the admin UI answers GET and HEAD only\n', { Allow: 'GET, HEAD' })
      return true
    }
    if (url.pathname === '/admin') {
      res.writeHead(308, { ...SECURITY_HEADERS, Location: `${PREFIX}${url.search}`, 'Content-Length': 0 }).end()
      return true
    }
    let relative: string
    try {
      relative = decodeURIComponent(url.pathname.slice(PREFIX.length))
    } catch {
      sendText(res, 400, 'malformed path\n')
      return true
    }
    const index = root === null ? null : await readFileOrNull(path.join(root, 'index.html'))
    if (root === null || index === null) {
      sendText(res, 503, 'the admin UI is not built: run `npm run build` in the repository (it builds libs/admin-ui into its dist/ folder)\n')
      return true
    }
    // Resolved against the root and checked to stay inside it, whatever `..` or encoded separators the path held.
    const file = path.resolve(root, relative)
    if (relative.includes('\0') || (file !== root && !file.startsWith(root + path.sep))) {
      sendText(res, 403, 'forbidden\n')
      return true
    }
    if (relative === '' || relative === 'index.html') {
      sendFile(req, res, index, 'index.html', 'no-cache')
      return true
    }
    const found = await readFileOrNull(file)
    if (found) {
      sendFile(req, res, found, file, relative.startsWith('assets/') ? IMMUTABLE : 'no-cache')
      return true
    }
    // A missing asset is a 404: answering a script tag with HTML would hide the real problem.
    if (relative.startsWith('assets/') || path.extname(relative) !== '') {
      sendText(res, 404, `no such file in the admin UI: ${relative}\n`)
      return true
    }
    sendFile(req, res, index, 'index.html', 'no-cache')
    return true
  }
}
