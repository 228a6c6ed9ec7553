import type { Duplex } from 'stream'
import { holdBytes, releaseBytes, type ByteBudget } from '../byte-budget'
import { responsesFull } from '../net/bounded-response'

/** pg's Connection: the stream it reads the server's messages from is handed to `attachListeners`, TLS or not. */
interface PgConnection {
  attachListeners(stream: Duplex): void
}

const DATA_ROW = 0x44
const READY_FOR_QUERY = 0x5a

/**
 * Bounds what a Postgres server sends a plugin's pg client. pg reads a whole result into the host's
 * memory before the plugin gets any row, and parses a message only once all of it has arrived: a
 * plugin's own server (or a `SELECT` of a big table) answering with gigabytes held them there, and
 * one field over 512 MB made pg throw from its socket handler, which ended the worker process for
 * every team. Here the server's messages are followed by their headers as they arrive, before pg
 * sees them: the rows of the query in progress (DataRow messages until ReadyForQuery) count against
 * `budget` (the bytes the instance's responses being read hold together, its fetches' and HTTP SDKs'
 * included), and any other message may not be larger than the budget; past either, the connection
 * is destroyed with an error naming the limit, before the message is complete.
 */
export function boundPgResults(connection: PgConnection | undefined, budget: ByteBudget, label: string): void {
  // A host's own pg-like SDK (PluginHost.loadHostModule) may have no pg Connection: its reads are its own.
  if (typeof connection?.attachListeners !== 'function') return
  const attach = connection.attachListeners.bind(connection)
  connection.attachListeners = (stream: Duplex) => {
    watchMessages(stream, budget, label)
    attach(stream)
  }
}

function watchMessages(stream: Duplex, budget: ByteBudget, label: string): void {
  let header = Buffer.alloc(0)
  let left = 0
  let held = 0
  const release = (): void => {
    releaseBytes(budget, held)
    held = 0
  }
  const stop = (what: string, bytes: number): void => {
    const error = new Error(`${label}: ${what} stopped: ${responsesFull(budget, bytes)}`)
    release()
    stream.destroy(error)
  }
  stream.once('close', release)
  // First, so a message past the bound is stopped before pg has more of it than this chunk.
  stream.prependListener('data', (chunk: Buffer) => {
    let at = 0
    while (at < chunk.length && !stream.destroyed) {
      if (left > 0) {
        const skipped = Math.min(left, chunk.length - at)
        left -= skipped
        at += skipped
        continue
      }
      const taken = chunk.subarray(at, at + 5 - header.length)
      header = header.length === 0 ? Buffer.from(taken) : Buffer.concat([header, taken])
      at += taken.length
      if (header.length < 5) return
      const type = header[0]
      const length = header.readUInt32BE(1)
      header = Buffer.alloc(0)
      left = length - 4
      if (type === READY_FOR_QUERY) release()
      else if (type === DATA_ROW) {
        if (!holdBytes(budget, length)) return stop('a query result', length)
        held += length
      } else if (length > budget.limit) return stop(`a message of ${length} bytes`, length)
    }
  })
}
