import type { Args } from './args'
import { Facade, FacadeType, Member, ModuleSpec } from './facade'
import { googleClientOptions, pickOptions, sdkPath, settle } from './google-common'

const MODULE = '@google-cloud/pubsub'
const SCOPES = ['https://www.googleapis.com/auth/cloud-platform', 'https://www.googleapis.com/auth/pubsub']

/** The parts of `@google-cloud/pubsub` the facades use: publishing to topics. Subscriptions (long-lived streams) stay out. */
interface PsTopic {
  name: string
  publish(data: Buffer, attributes?: Record<string, string>): Promise<unknown>
  publishMessage(message: Record<string, unknown>): Promise<unknown>
  getMetadata(gaxOpts?: Record<string, unknown>): Promise<unknown>
  create(gaxOpts?: Record<string, unknown>): Promise<[PsTopic, unknown]>
  exists(): Promise<unknown>
  flush(): Promise<unknown>
}
interface PsClient {
  topic(name: string, options?: Record<string, unknown>): PsTopic
  createTopic(name: string): Promise<[PsTopic, unknown]>
  close(): Promise<void>
}
interface PsSdk {
  PubSub: new (options: Record<string, unknown>) => PsClient
}

class ClientTarget {
  closed = false
  constructor(readonly client: PsClient) {}
}

const TOPIC_OPTIONS = ['batching', 'messageOrdering', 'enableOpenTelemetryTracing']
/** Call options (gax): a deadline and a retry count, so a plugin need not wait out the SDK's 60 s of retries. */
const CALL_OPTIONS = ['timeout', 'maxRetries']
const MESSAGE_KEYS = ['data', 'attributes', 'orderingKey', 'json']

function call<T extends object>(run: (target: T, args: Args) => Promise<unknown>): Member<T> {
  return (target, args) => {
    const callback = args.takeCallback()
    return settle(run(target, args), callback)
  }
}

function attributes(args: Args, index: number, name: string): Record<string, string> | undefined {
  const raw = args.record(index, name)
  if (!raw) return undefined
  for (const [key, value] of Object.entries(raw)) if (typeof value !== 'string') throw args.error(`${name}.${key} must be a string`)
  return raw as Record<string, string>
}

function message(args: Args): Record<string, unknown> {
  const picked = pickOptions(args, 0, 'message', MESSAGE_KEYS)
  if (!picked) throw args.error('expects a message { data, attributes, orderingKey, json }')
  if (picked.data !== undefined && !Buffer.isBuffer(picked.data)) throw args.error('message.data must be a Buffer')
  return picked
}

const TOPIC: FacadeType<PsTopic> = {
  name: `${MODULE}.Topic`,
  methods: {
    publish: call((t, args) => {
      if (!Buffer.isBuffer(args.at(0))) throw args.error('data must be a Buffer')
      return t.publish(args.at(0) as Buffer, attributes(args, 1, 'attributes'))
    }),
    publishMessage: call((t, args) => t.publishMessage(message(args))),
    getMetadata: call((t, args) => t.getMetadata(pickOptions(args, 0, 'gaxOpts', CALL_OPTIONS))),
    create: call((t, args) => t.create(pickOptions(args, 0, 'gaxOpts', CALL_OPTIONS)).then(([topic, response]) => [new Facade(TOPIC, topic), response])),
    exists: call((t) => t.exists()),
    flush: call((t) => t.flush()),
  },
  properties: { name: (t) => t.name },
}

const PUBSUB: FacadeType<ClientTarget> = {
  name: `${MODULE}.PubSub`,
  methods: {
    topic: (p, args) => new Facade(TOPIC, p.client.topic(args.string(0, 'name'), pickOptions(args, 1, 'options', TOPIC_OPTIONS))),
    createTopic: call((p, args) => p.client.createTopic(args.string(0, 'name')).then(([topic, response]) => [new Facade(TOPIC, topic), response])),
    close: call((p) => {
      p.closed = true
      return p.client.close()
    }),
  },
  // Publishers batch on timers and hold gRPC channels: closed with the isolate.
  dispose: (p) => void p.client.close().catch(() => undefined),
  closed: (p) => p.closed,
}

const ROOT: FacadeType<PsSdk> = {
  name: MODULE,
  constructors: {
    PubSub: (sdk, args, ctx) => {
      const options = googleClientOptions(args, ctx.keys, sdkPath(MODULE), SCOPES, { port: 'number' })
      // grpc-js shares connections among all clients of a process by default: each client keeps its
      // own, so a connection checked under one plugin's policy never serves another plugin.
      return new Facade(PUBSUB, new ClientTarget(new sdk.PubSub({ ...options, 'grpc.use_local_subchannel_pool': 1 })))
    },
  },
}

/**
 * `@google-cloud/pubsub` for plugins: `new PubSub({ projectId, credentials, apiEndpoint, port })`,
 * `topic(name, { batching, messageOrdering })`, `topic.publish(buffer, attributes)`,
 * `publishMessage({ data, attributes, orderingKey, json })`, `getMetadata` and `create` (with
 * `{ timeout, maxRetries }`), `exists`,
 * `flush`, `createTopic`, `close`. The SDK (and gRPC) is required on first use.
 */
export const googlePubSubSpec: ModuleSpec<PsSdk> = {
  name: MODULE,
  load: () => require(MODULE) as PsSdk,
  root: (sdk) => new Facade(ROOT, sdk),
  rootType: ROOT,
}
