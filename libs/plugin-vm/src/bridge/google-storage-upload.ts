import { EventEmitter } from 'events'
import type { Args } from './args'
import { EventRelay, eventMethods } from './event-relay'
import { ByteBudget, holdBytes, releaseBytes, sharedFull, wouldPass } from '../byte-budget'
import type { FacadeType, Member } from './facade'
import { googleError } from './google-common'

/**
 * As much as a plugin may write through one stream: the same cap as a fetch body. Also what all of
 * an instance's streams may hold on the host together (CapabilityBridge's `held`), until each ends.
 */
export const MAX_UPLOAD_BYTES = 50 * 1024 * 1024
const EVENTS = ['finish', 'close', 'error', 'drain', 'unpipe']

export interface Saveable {
  save(data: Buffer, options?: Record<string, unknown>): Promise<unknown>
}

/**
 * `file.createWriteStream(options)` for plugins: the chunks written are kept on the host and saved
 * in one upload (`file.save`) at `end()`, then `finish` and `close` (or `error` and `close`) reach
 * the plugin's listeners. Enough of a Writable for `readable.pipe(stream)`, as PostHog's GCS plugin
 * uses it: `write` answers true at once (no backpressure: the whole object is bounded instead),
 * `emit('pipe' | 'unpipe')` is accepted and ignored, `listenerCount` and `prependListener` exist.
 * The chunks are counted against the instance's `held` bytes until the upload settles or the stream
 * is destroyed: the isolate's memory limit never sees them, and ten streams of 49 MiB per event took
 * a worker from 94 MB to 3 GB.
 */
export class UploadTarget {
  readonly emitter = new EventEmitter()
  readonly relay: EventRelay
  private readonly chunks: Buffer[] = []
  private bytes = 0
  ended = false

  constructor(
    private readonly file: Saveable,
    private readonly options: Record<string, unknown> | undefined,
    private readonly held: ByteBudget,
    warn: (message: string) => void,
    label: string,
  ) {
    this.relay = new EventRelay(label, this.emitter, EVENTS, warn)
  }

  write(args: Args, index: number): void {
    const chunk = args.at(index)
    if (chunk === undefined || chunk === null) return
    if (this.ended) throw args.error('write after end')
    const encoding = typeof args.at(index + 1) === 'string' ? (args.at(index + 1) as BufferEncoding) : 'utf8'
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : Buffer.isBuffer(chunk) ? chunk : undefined
    if (!buffer) throw args.error('chunk must be a string or a Buffer')
    if (this.bytes + buffer.length > MAX_UPLOAD_BYTES) throw args.error(`an upload stream takes at most ${MAX_UPLOAD_BYTES} bytes (MAX_UPLOAD_BYTES)`)
    if (!holdBytes(this.held, buffer.length)) {
      const shared = sharedFull(this.held, buffer.length)
      throw args.error(
        shared
          ? `refused: ${wouldPass(shared, buffer.length, this.held)} (${shared.variable}): end or destroy an upload stream first`
          : `this plugin's upload streams not yet finished hold ${this.held.bytes} bytes on the host; all of them together may hold at most ${this.held.limit} bytes (MAX_UPLOAD_BYTES): end or destroy one first`,
      )
    }
    this.bytes += buffer.length
    this.chunks.push(buffer)
  }

  /** Gives the stream's bytes back to the instance's budget: the upload settled or the stream was destroyed. */
  private giveBack(): void {
    releaseBytes(this.held, this.bytes)
    this.bytes = 0
    this.chunks.length = 0
  }

  destroy(): void {
    if (!this.ended) this.giveBack()
    this.ended = true
  }

  end(): void {
    if (this.ended) return
    this.ended = true
    const data = Buffer.concat(this.chunks)
    this.chunks.length = 0
    // The joined copy stays on the host until the upload is done: counted until then.
    const saved = Promise.resolve()
      .then(() => this.file.save(data, this.options))
      .finally(() => this.giveBack())
    saved.then(
      () => {
        this.emitter.emit('finish')
        this.emitter.emit('close')
      },
      (error: unknown) => {
        this.emitter.emit('error', googleError(error))
        this.emitter.emit('close')
      },
    )
  }
}

const events = eventMethods<UploadTarget>((t) => t.relay)

const write: Member<UploadTarget> = (t, args) => {
  const callback = args.takeCallback()
  t.write(args, 0)
  callback?.call(null)
  return true
}

const end: Member<UploadTarget> = (t, args, ctx) => {
  const callback = args.takeCallback()
  t.write(args, 0)
  if (callback) t.emitter.once('finish', () => callback.call(null))
  t.end()
  return ctx.self
}

export const UPLOAD_STREAM: FacadeType<UploadTarget> = {
  name: '@google-cloud/storage.WriteStream',
  // A stream the plugin never ended gives its chunks back when the instance goes: they count
  // against its team's bytes too (`shared.held`), which outlive it.
  dispose: (t) => t.destroy(),
  closed: (t) => t.ended,
  methods: {
    write,
    end,
    ...events,
    prependListener: events.on,
    prependOnceListener: events.once,
    listenerCount: (t, args) => t.relay.count(args.string(0, 'event')),
    emit: (_t, args) => {
      const event = args.string(0, 'event')
      if (event !== 'pipe' && event !== 'unpipe') throw args.error(`only "pipe" and "unpipe" may be emitted on an upload stream (got "${event}")`)
      return false
    },
    destroy: (t, _args, ctx) => {
      t.destroy()
      t.emitter.emit('close')
      return ctx.self
    },
  },
  properties: {
    writable: (t) => !t.ended,
    writableEnded: (t) => t.ended,
    writableNeedDrain: () => false,
  },
}
