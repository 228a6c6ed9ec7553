import type { EventEmitter } from 'events'
import type { Args } from './args'
import type { Callback } from './callback'
import { EventRelay, eventMethods } from './event-relay'
import { BoundMethod, Facade, FacadeHost, FacadeType, Member, ModuleSpec } from './facade'
import { destroyAfterGrace, SocketHolder, socketOpen } from './pg-close'
import { pgConfig, pgQuery } from './pg-config'
import { boundPgResults } from './pg-result-bound'

/** The parts of `pg` the facades use; anything else of the SDK stays out of reach. */
interface PgResult {
  rows: unknown[]
  rowCount: number | null
  command: string
  fields?: { name: string; dataTypeID: number }[]
}
type PgQueryConfig = ReturnType<typeof pgQuery>
interface PgClient extends EventEmitter, SocketHolder {
  connection?: NonNullable<SocketHolder['connection']> & NonNullable<Parameters<typeof boundPgResults>[0]>
  connect(): Promise<void>
  query(config: PgQueryConfig): Promise<PgResult | PgResult[]>
  end(): Promise<void>
  escapeIdentifier?(text: string): string
  escapeLiteral?(text: string): string
  /** Set by the pool on the clients it hands out. */
  release?(destroy?: boolean): void
}
interface PgPool extends EventEmitter {
  connect(): Promise<PgClient>
  query(config: PgQueryConfig): Promise<PgResult | PgResult[]>
  end(): Promise<void>
  totalCount: number
  idleCount: number
  waitingCount: number
  /** pg-pool's clients, connecting, idle or checked out: a client is in it from before it connects until it is removed. */
  _clients?: PgClient[]
}
type PgClientClass = new (config: Record<string, unknown>) => PgClient
interface PgSdk {
  Client: PgClientClass
  Pool: new (config: Record<string, unknown>) => PgPool
}

const CLIENT_EVENTS = ['error', 'end', 'notice', 'notification', 'connect']
const POOL_EVENTS = ['error', 'connect', 'acquire', 'remove', 'release']
const POOL_CLIENT_EVENTS = ['error', 'end', 'notice', 'notification']

class ClientTarget {
  ended = false
  readonly relay: EventRelay

  constructor(
    readonly client: PgClient,
    warn: (message: string) => void,
  ) {
    this.relay = new EventRelay('pg.Client', client, CLIENT_EVENTS, warn)
    client.on('end', () => (this.ended = true))
  }
}

class PoolClientTarget {
  checkedOut = false
  readonly relay: EventRelay

  constructor(
    readonly client: PgClient,
    warn: (message: string) => void,
  ) {
    // While checked out, pg-pool leaves the client without an error listener: this is it.
    this.relay = new EventRelay('pg.PoolClient', client, POOL_CLIENT_EVENTS, warn)
  }
}

class PoolTarget {
  ended = false
  readonly relay: EventRelay
  private readonly clients = new WeakMap<PgClient, Facade<PoolClientTarget>>()
  /** Clients the pool removed (ended) whose sockets have not closed yet: the pool no longer lists them. */
  private readonly leaving = new Set<PgClient>()

  constructor(
    readonly pool: PgPool,
    private readonly warn: (message: string) => void,
  ) {
    this.relay = new EventRelay('pg.Pool', pool, POOL_EVENTS, warn, (event, args) =>
      event === 'error' || event === 'release' ? [args[0], this.clientFacade(args[1] as PgClient)] : [this.clientFacade(args[0] as PgClient)],
    )
    pool.on('remove', (client: PgClient) => {
      if (!socketOpen(client)) return
      this.leaving.add(client)
      client.connection?.stream?.once('close', () => this.leaving.delete(client))
    })
  }

  /** Every client of the pool whose socket is still open, listed by the pool or on its way out. */
  openClients(): PgClient[] {
    return [...(this.pool._clients ?? []), ...this.leaving].filter(socketOpen)
  }

  /** One facade per pooled client, so its listeners are installed once however often it is checked out. */
  clientFacade(client: PgClient): Facade<PoolClientTarget> {
    let facade = this.clients.get(client)
    if (!facade) this.clients.set(client, (facade = new Facade(POOL_CLIENT, new PoolClientTarget(client, this.warn))))
    return facade
  }
}

/** What a query gives the plugin: rows, rowCount, command and fields as plain data. */
function queryResult(result: PgResult | PgResult[]): unknown {
  const one = (r: PgResult) => ({
    rows: r.rows,
    rowCount: r.rowCount,
    command: r.command,
    fields: (r.fields ?? []).map((f) => ({ name: f.name, dataTypeID: f.dataTypeID })),
  })
  return Array.isArray(result) ? result.map(one) : one(result)
}

/** The promise for the plugin to await, or, when it passed a node-style callback, the callback called with the outcome. */
function settle(
  promise: Promise<unknown>,
  callback: Callback | undefined,
  success: (value: unknown) => unknown[] = (value) => [null, value],
): Promise<unknown> | undefined {
  if (!callback) return promise
  promise.then(
    (value) => callback.call(...success(value)),
    (error: unknown) => callback.call(error),
  )
  return undefined
}

function query<T extends object>(run: (target: T, config: PgQueryConfig) => Promise<PgResult | PgResult[]>): Member<T> {
  return (target, args: Args) => {
    const callback = args.takeCallback()
    return settle(run(target, pgQuery(args)).then(queryResult), callback)
  }
}

function escapes<T extends object>(client: (target: T) => PgClient): Record<string, Member<T>> {
  const escape =
    (kind: 'escapeIdentifier' | 'escapeLiteral'): Member<T> =>
    (target, args) => {
      const fn = client(target)[kind]
      if (!fn) throw args.error('not available in this pg version')
      return fn.call(client(target), args.string(0, 'text'))
    }
  return { escapeIdentifier: escape('escapeIdentifier'), escapeLiteral: escape('escapeLiteral') }
}

const CLIENT: FacadeType<ClientTarget> = {
  name: 'pg.Client',
  methods: {
    connect: (t, args) => settle(t.client.connect(), args.takeCallback(), () => []),
    query: query((t, config) => t.client.query(config)),
    end: (t, args) => {
      t.ended = true
      return settle(t.client.end(), args.takeCallback(), () => [])
    },
    ...escapes((t) => t.client),
    ...eventMethods((t) => t.relay),
  },
  dispose: (t) => {
    if (!t.ended) void Promise.resolve(t.client.end()).catch(() => undefined)
    destroyAfterGrace(t.client)
  },
  // Ended by the plugin is not closed: its socket is, once the server closed its side too (or before connect).
  closed: (t) => !socketOpen(t.client),
}

const POOL_CLIENT: FacadeType<PoolClientTarget> = {
  name: 'pg.PoolClient',
  methods: {
    query: query((t, config) => t.client.query(config)),
    release: (t, args) => {
      if (typeof t.client.release !== 'function') throw args.error('this client is not checked out of a pool')
      t.checkedOut = false
      // pg: any truthy argument (an error) destroys the client instead of returning it to the pool.
      t.client.release(args.at(0) ? true : undefined)
    },
    ...escapes((t) => t.client),
    ...eventMethods((t) => t.relay),
  },
  dispose: (t) => {
    t.client.release?.(true)
    destroyAfterGrace(t.client)
  },
  closed: (t) => !t.checkedOut,
}

const POOL: FacadeType<PoolTarget> = {
  name: 'pg.Pool',
  methods: {
    connect: (t, args) => {
      const checkedOut = t.pool.connect().then((client) => {
        const facade = t.clientFacade(client)
        facade.target.checkedOut = true
        return facade
      })
      return settle(checkedOut, args.takeCallback(), (facade) => [null, facade, new BoundMethod(facade as Facade, 'release')])
    },
    query: query((t, config) => t.pool.query(config)),
    end: (t, args) => {
      t.ended = true
      return settle(t.pool.end(), args.takeCallback(), () => [])
    },
    ...eventMethods((t) => t.relay),
  },
  properties: {
    totalCount: (t) => t.pool.totalCount,
    idleCount: (t) => t.pool.idleCount,
    waitingCount: (t) => t.pool.waitingCount,
  },
  dispose: (t) => {
    const clients = t.openClients()
    void Promise.resolve(t.pool.end()).catch(() => undefined)
    // pool.end() ends only idle clients, politely; the checked-out and connecting ones it waits for.
    for (const client of clients) destroyAfterGrace(client)
  },
  closed: (t) => t.openClients().length === 0,
}

/** pg's Client whose connections count what the server sends against the instance's responses (pg-result-bound.ts). */
function boundedClient(Client: PgClientClass, ctx: Pick<FacadeHost, 'responses'>): PgClientClass {
  return class extends Client {
    constructor(config: Record<string, unknown>) {
      super(config)
      boundPgResults(this.connection, ctx.responses, 'pg')
    }
  }
}

const PG: FacadeType<PgSdk> = {
  name: 'pg',
  constructors: {
    Client: (sdk, args, ctx) => new Facade(CLIENT, new ClientTarget(new (boundedClient(sdk.Client, ctx))(pgConfig(args, false, ctx.keys)), ctx.warn)),
    // pg-pool makes its clients with the `Client` it is given: these count what their servers send too.
    Pool: (sdk, args, ctx) =>
      new Facade(POOL, new PoolTarget(new sdk.Pool({ ...pgConfig(args, true, ctx.keys), Client: boundedClient(sdk.Client, ctx) }), ctx.warn)),
  },
}

/**
 * `pg` for plugins: Client, Pool and the clients a pool hands out, with connect, query (text and
 * values, or { text, values, rowMode, name }), end, release, events and the pool's counters.
 * Nothing of Connection, types, native, defaults, streams or sockets.
 */
export const pgSpec: ModuleSpec<PgSdk> = {
  name: 'pg',
  load: () => require('pg') as PgSdk,
  root: (sdk) => new Facade(PG, sdk),
  rootType: PG,
}
