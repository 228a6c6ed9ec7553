import http from 'node:http'
import type { AddressInfo } from 'node:net'

export interface ExportSink {
  url: string
  received: () => number
  close: () => Promise<void>
}

/** A stand-in for a customer's warehouse endpoint: counts the events exportEvents delivers to it. */
export async function startExportSink(): Promise<ExportSink> {
  let received = 0
  const server = http.createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => (body += chunk.toString()))
    req.on('end', () => {
      try {
        received += (JSON.parse(body) as { events: unknown[] }).events.length
        res.writeHead(200).end('{"ok":true}')
      } catch {
        res.writeHead(400).end('{"ok":false}')
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`,
    received: () => received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}
