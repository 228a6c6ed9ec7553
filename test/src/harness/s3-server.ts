import fs from 'node:fs'
import http, { type Server } from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { gunzipSync } from 'node:zlib'

/** s3rver ships no types; the part the tests use. */
interface S3rverInstance {
  run(): Promise<{ port: number }>
  close(): Promise<void>
  httpServer?: Server
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance

/** s3rver's fixed credentials: it checks signatures against these. */
export const S3_TEST_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const

/** A local S3 (s3rver) on 127.0.0.1, storing in a temporary directory removed by stop(). */
export interface TestS3Server {
  endpoint: string
  port: number
  directory: string
  /** Every object in `bucket` as { key: body }, read through s3rver's own HTTP API. */
  objects(bucket: string): Promise<Map<string, Buffer>>
  stop(): Promise<void>
}

export async function startS3Server(buckets: string[]): Promise<TestS3Server> {
  const S3rver = require('s3rver') as S3rverClass
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-s3rver-'))
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: buckets.map((name) => ({ name })) })
  const { port } = await server.run()
  const endpoint = `http://127.0.0.1:${port}`
  return {
    endpoint,
    port,
    directory,
    objects: async (bucket) => {
      const list = (await rawGet(`${endpoint}/${bucket}?list-type=2`)).toString('utf8')
      const keys = [...list.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => decodeXml(m[1]))
      const out = new Map<string, Buffer>()
      for (const key of keys) {
        out.set(key, await rawGet(`${endpoint}/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`))
      }
      return out
    },
    stop: async () => {
      server.httpServer?.closeAllConnections()
      await server.close().catch(() => undefined)
      fs.rmSync(directory, { recursive: true, force: true })
    },
  }
}

/** The JSON lines of gzip'd objects, parsed. */
export function gzippedJsonLines(bodies: Iterable<Buffer>): unknown[] {
  const out: unknown[] = []
  for (const body of bodies) {
    for (const line of gunzipSync(body).toString('utf8').split('\n')) if (line.trim() !== '') out.push(JSON.parse(line))
  }
  return out
}

/** The body as stored: fetch would undo the gzip of objects uploaded with ContentEncoding: gzip. */
function rawGet(url: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`GET ${url}: ${res.statusCode}`))))
      })
      .on('error', reject)
  })
}

function decodeXml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&')
}
