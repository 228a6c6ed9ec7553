import path from 'node:path'
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import { REPO_ROOT } from './processes'

export interface PublishedMessage {
  topic: string
  data: Buffer
  attributes: Record<string, string>
}

interface TopicRequest {
  name?: string
  topic?: string
  messages?: { data: Buffer; attributes?: Record<string, string> }[]
}

type Handler = grpc.handleUnaryCall<TopicRequest, Record<string, unknown>>

/** The protos the installed @google-cloud/pubsub ships, with the google-gax ones they import. */
function publisherService(): grpc.ServiceDefinition {
  const from = { paths: [path.join(REPO_ROOT, 'libs/plugin-vm')] }
  const pubsub = path.join(path.dirname(require.resolve('@google-cloud/pubsub/package.json', from)), 'build/protos')
  // google-gax exports no package.json: its protos sit beside its build/src/index.js.
  const gax = path.join(path.dirname(require.resolve('google-gax', { paths: [pubsub] })), '../protos')
  const definition = protoLoader.loadSync('google/pubsub/v1/pubsub.proto', { includeDirs: [pubsub, gax], longs: String, enums: String, defaults: true })
  const loaded = grpc.loadPackageDefinition(definition) as unknown as { google: { pubsub: { v1: { Publisher: grpc.ServiceClientConstructor } } } }
  return loaded.google.pubsub.v1.Publisher.service
}

/**
 * A local stand-in of the Pub/Sub Publisher gRPC API (GetTopic, CreateTopic, Publish) on
 * 127.0.0.1, plain text as the Pub/Sub emulator is, recording what is published.
 */
export class PubSubServer {
  readonly topics = new Set<string>()
  readonly messages: PublishedMessage[] = []
  private readonly server = new grpc.Server()
  private port = 0

  async start(): Promise<string> {
    const getTopic: Handler = (call, done) =>
      this.topics.has(call.request.topic ?? '') ? done(null, { name: call.request.topic }) : done({ code: grpc.status.NOT_FOUND, details: 'Topic not found' })
    const createTopic: Handler = (call, done) => {
      const name = call.request.name ?? ''
      if (this.topics.has(name)) return done({ code: grpc.status.ALREADY_EXISTS, details: 'Topic already exists' })
      this.topics.add(name)
      done(null, { name })
    }
    const publish: Handler = (call, done) => {
      const topic = call.request.topic ?? ''
      if (!this.topics.has(topic)) return done({ code: grpc.status.NOT_FOUND, details: 'Topic not found' })
      const ids = (call.request.messages ?? []).map((m) => {
        this.messages.push({ topic, data: Buffer.from(m.data), attributes: m.attributes ?? {} })
        return String(this.messages.length)
      })
      done(null, { messageIds: ids })
    }
    this.server.addService(publisherService(), { GetTopic: getTopic, CreateTopic: createTopic, Publish: publish })
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))),
    )
    return this.endpoint
  }

  /** `apiEndpoint` for `new PubSub(...)`: host and port (a non-Google host puts the SDK in emulator mode). */
  get endpoint(): string {
    return `127.0.0.1:${this.port}`
  }

  async close(): Promise<void> {
    this.server.forceShutdown()
  }
}
