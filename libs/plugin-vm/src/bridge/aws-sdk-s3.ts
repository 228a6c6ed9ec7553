import type { EventEmitter } from 'events'
import http from 'http'
import https from 'https'
import type { Args } from './args'
import type { Callback } from './callback'
import { EventRelay, eventMethods } from './event-relay'
import { Facade, FacadeType, Member } from './facade'

/** The parts of aws-sdk v2 the facades use; anything else of the SDK stays out of reach. */
type NodeCallback = (error: Error | null, data?: unknown) => void
export interface AwsRequest {
  promise(): Promise<unknown>
  send(callback: NodeCallback): void
  abort(): void
}
export interface AwsManagedUpload {
  promise(): Promise<unknown>
  send(callback: NodeCallback): void
  abort(): void
  on(event: string, listener: (...args: unknown[]) => void): unknown
}
export interface AwsS3Client {
  endpoint: { protocol: string }
  config: { httpOptions?: Record<string, unknown> }
  upload(params: unknown, options?: unknown): AwsManagedUpload
  [operation: string]: unknown
}

/** The S3 operations plugins may call, each as the SDK has it: `s3.op(params, cb)` or `s3.op(params).promise()`. */
export const S3_OPERATIONS = [
  'putObject',
  'getObject',
  'headObject',
  'deleteObject',
  'deleteObjects',
  'copyObject',
  'listObjects',
  'listObjectsV2',
  'headBucket',
  'createBucket',
] as const

const UPLOAD_OPTION_KEYS = new Set(['partSize', 'queueSize', 'leavePartsOnError'])

/**
 * One S3 client of one plugin. It has its own keep-alive agent: a socket it reuses was opened,
 * and checked against the address policy, by an earlier call of the same client; no socket of
 * another plugin or of the host is ever handed to it (aws-sdk's shared agents would).
 */
export class S3Target {
  readonly agent: http.Agent

  constructor(readonly client: AwsS3Client) {
    const secure = client.endpoint.protocol === 'https:'
    // Idle sockets close after 15 s: a plugin making a client per batch does not pile them up.
    const options = { keepAlive: true, maxSockets: 16, timeout: 15_000 }
    this.agent = secure ? new https.Agent(options) : new http.Agent(options)
    client.config.httpOptions = { ...(client.config.httpOptions ?? {}), agent: this.agent }
  }
}

/** An operation not sent yet (aws-sdk's AWS.Request): `promise()` or `send(cb)` sends it, once. */
class RequestTarget {
  private outcome?: Promise<unknown>

  constructor(readonly request: AwsRequest) {}

  run(): Promise<unknown> {
    this.outcome ??= this.request.promise().then(plain)
    return this.outcome
  }
}

class UploadTarget {
  private outcome?: Promise<unknown>
  readonly relay: EventRelay

  constructor(
    readonly upload: AwsManagedUpload,
    warn: (message: string) => void,
  ) {
    this.relay = new EventRelay('aws-sdk.S3.ManagedUpload', upload as unknown as Pick<EventEmitter, 'on'>, ['httpUploadProgress'], warn, (_event, args) => [
      progress(args[0]),
    ])
  }

  run(): Promise<unknown> {
    this.outcome ??= this.upload.promise().then(plain)
    return this.outcome
  }
}

/** The SDK's answer as data: own enumerable fields only (never `$response` and the request behind it). */
function plain(data: unknown): unknown {
  if (data === null || typeof data !== 'object') return data
  return Object.fromEntries(Object.entries(data))
}

function progress(event: unknown): unknown {
  const e = (event ?? {}) as Record<string, unknown>
  return { loaded: e.loaded, total: e.total, part: e.part, key: e.key }
}

/** Calls `callback(err, data)` with the outcome; the plugin function runs later, in the isolate. `send()` without one only sends. */
function reply(outcome: Promise<unknown>, callback: Callback | undefined): void {
  if (!callback) return void outcome.catch(() => undefined)
  outcome.then(
    (data) => callback.call(null, data),
    (error: unknown) => callback.call(error),
  )
}

function params(args: Args): Record<string, unknown> {
  const value = args.record(0, 'params')
  if (!value) throw args.error('params must be an object such as { Bucket, Key }')
  return value
}

const REQUEST: FacadeType<RequestTarget> = {
  name: 'aws-sdk.Request',
  methods: {
    promise: (t) => t.run(),
    send: (t, args) => reply(t.run(), args.takeCallback()),
    abort: (t, _args, ctx) => {
      t.request.abort()
      return ctx.self
    },
  },
}

const UPLOAD: FacadeType<UploadTarget> = {
  name: 'aws-sdk.S3.ManagedUpload',
  methods: {
    promise: (t) => t.run(),
    send: (t, args) => reply(t.run(), args.takeCallback()),
    abort: (t) => t.upload.abort(),
    ...eventMethods((t) => t.relay),
  },
}

function operation(name: string): Member<S3Target> {
  return (t, args) => {
    const callback = args.takeCallback()
    const fn = t.client[name] as (this: AwsS3Client, params: unknown) => AwsRequest
    const target = new RequestTarget(fn.call(t.client, params(args)))
    if (callback) reply(target.run(), callback)
    return new Facade(REQUEST, target)
  }
}

/** `s3.upload(params[, options][, cb])`: aws-sdk's managed (multipart when large) upload. */
const upload: Member<S3Target> = (t, args, ctx) => {
  const callback = args.takeCallback()
  const options = args.record(1, 'options')
  for (const key of Object.keys(options ?? {})) {
    if (!UPLOAD_OPTION_KEYS.has(key)) throw args.error(`upload option "${key}" is not available to plugins (allowed: ${[...UPLOAD_OPTION_KEYS].join(', ')})`)
  }
  const target = new UploadTarget(t.client.upload(params(args), options), ctx.warn)
  if (callback) reply(target.run(), callback)
  return new Facade(UPLOAD, target)
}

export const S3_CLIENT: FacadeType<S3Target> = {
  name: 'aws-sdk.S3',
  methods: { upload, ...Object.fromEntries(S3_OPERATIONS.map((name) => [name, operation(name)])) },
  dispose: (t) => t.agent.destroy(),
  // Its agent's sockets are all it holds: a client with none is dropped once the plugin let go of it.
  closed: (t) => Object.keys(t.agent.sockets).length === 0 && Object.keys(t.agent.freeSockets).length === 0,
}
