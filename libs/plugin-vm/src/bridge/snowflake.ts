import type { Args } from './args'
import type { Callback } from './callback'
import { Facade, FacadeHost, FacadeType, Member, ModuleSpec } from './facade'
import { snowflakeConnectionOptions, snowflakeExecuteOptions } from './snowflake-config'
import { loadSnowflakeSdk, withSdkLog } from './snowflake-process-state'

/** The parts of snowflake-sdk the facades use; anything else of the SDK stays out of reach. */
type NodeCallback = (error: Error | undefined, ...rest: unknown[]) => void
interface SnowflakeStatement {
  getSqlText(): string
  getStatus(): string
  getQueryId(): string
  getStatementId(): string
  getNumRows(): number
  getNumUpdatedRows(): number
  getColumns(): { getName(): string; getType(): string; isNullable(): boolean; getScale(): number; getPrecision(): number }[] | undefined
  cancel(callback: NodeCallback): void
}
interface SnowflakeConnection {
  connect(callback: NodeCallback): void
  execute(options: Record<string, unknown>): SnowflakeStatement
  destroy(callback: NodeCallback): void
  isUp(): boolean
  getId(): string
}
interface SnowflakePool {
  acquire(): Promise<SnowflakeConnection>
  release(connection: SnowflakeConnection): Promise<void>
  destroy(connection: SnowflakeConnection): Promise<void>
  drain(): Promise<void>
  clear(): Promise<void>
  size: number
  available: number
  pending: number
  borrowed: number
}
export interface SnowflakeSdk {
  createConnection(options: Record<string, unknown>): SnowflakeConnection
  createPool(options: Record<string, unknown>, poolOptions: Record<string, unknown>): SnowflakePool
}

class ConnectionTarget {
  destroyed = false

  constructor(readonly connection: SnowflakeConnection) {}
}

/** How long disposal waits for a pool to drain before destroying its idle connections anyway. */
const DRAIN_WAIT_MS = 5_000

class PoolTarget {
  drained = false
  /** One facade per pooled connection, so the plugin can hand it back to `release`. */
  readonly facades = new WeakMap<SnowflakeConnection, Facade<ConnectionTarget>>()
  /** Connections the plugin acquired and has not given back: disposal destroys them through the pool. */
  readonly borrowed = new Set<SnowflakeConnection>()

  constructor(readonly pool: SnowflakePool) {}
}

/** Every member runs with the plugin's log channel, so what the SDK logs on its behalf (now or later) reaches its logs. */
function logged<T extends object>(members: Record<string, Member<T>>): Record<string, Member<T>> {
  return Object.fromEntries(Object.entries(members).map(([name, member]) => [name, (t, args, ctx) => withSdkLog(ctx.warn, () => member(t, args, ctx))]))
}

/** `(err) => …` callbacks of the SDK, or a promise when the plugin passed none. */
function settle(start: (done: NodeCallback) => void, callback: Callback | undefined, success: () => unknown[]): Promise<unknown> | undefined {
  const outcome = new Promise<unknown[]>((resolve, reject) => start((error) => (error ? reject(error) : resolve(success()))))
  if (!callback) return outcome.then((values) => values[0])
  outcome.then(
    (values) => callback.call(null, ...values),
    (error: unknown) => callback.call(error),
  )
  return undefined
}

function columns(statement: SnowflakeStatement): unknown {
  return (statement.getColumns() ?? []).map((c) => ({
    name: c.getName(),
    type: c.getType(),
    nullable: c.isNullable(),
    scale: c.getScale(),
    precision: c.getPrecision(),
  }))
}

const STATEMENT: FacadeType<SnowflakeStatement> = {
  name: 'snowflake-sdk.Statement',
  methods: logged<SnowflakeStatement>({
    getSqlText: (s) => s.getSqlText(),
    getStatus: (s) => s.getStatus(),
    getQueryId: (s) => s.getQueryId(),
    getStatementId: (s) => s.getStatementId(),
    getNumRows: (s) => s.getNumRows(),
    getNumUpdatedRows: (s) => s.getNumUpdatedRows(),
    getColumns: (s) => columns(s),
    cancel: (s, args) =>
      settle(
        (done) => s.cancel(done),
        args.takeCallback(),
        () => [],
      ),
  }),
}

/** `execute({ sqlText, binds, complete })`: the statement at once, `complete(err, statement, rows)` later. */
const execute: Member<ConnectionTarget> = (t, args: Args) => {
  const { options, complete } = snowflakeExecuteOptions(args)
  // The SDK calls complete later, always after execute has returned the statement.
  const made: { facade?: Facade<SnowflakeStatement> } = {}
  const statement = t.connection.execute({
    ...options,
    streamResult: false,
    complete: (error: Error | undefined, _statement: unknown, rows: unknown) => {
      if (!complete) return
      if (error) complete.call(error, made.facade)
      else complete.call(null, made.facade, rows)
    },
  })
  made.facade = new Facade(STATEMENT, statement)
  return made.facade
}

const CONNECTION: FacadeType<ConnectionTarget> = {
  name: 'snowflake-sdk.Connection',
  methods: logged<ConnectionTarget>({
    connect: (t, args, ctx) => {
      const callback = args.takeCallback()
      const outcome = settle(
        (done) => t.connection.connect(done),
        callback,
        () => [ctx.self],
      )
      // The SDK's own connect(cb) returns the connection: allow `connection.connect(cb)` chained or awaited.
      return outcome ?? ctx.self
    },
    connectAsync: (t, _args, ctx) =>
      settle(
        (done) => t.connection.connect(done),
        undefined,
        () => [ctx.self],
      ),
    execute,
    destroy: (t, args) => {
      t.destroyed = true
      return settle(
        (done) => t.connection.destroy(done),
        args.takeCallback(),
        () => [],
      )
    },
    isUp: (t) => t.connection.isUp(),
    getId: (t) => t.connection.getId(),
  }),
  dispose: (t) => t.connection.destroy(() => undefined),
  // Not `!isUp()`: a connection is handed out before it connects, and must be tracked from then on.
  closed: (t) => t.destroyed,
}

function connectionOf(args: Args): SnowflakeConnection {
  const value = args.at(0)
  if (!(value instanceof Facade) || value.type !== CONNECTION) throw args.error('expects a connection from this pool')
  return (value.target as ConnectionTarget).connection
}

const POOL: FacadeType<PoolTarget> = {
  name: 'snowflake-sdk.Pool',
  methods: logged<PoolTarget>({
    acquire: (t) =>
      t.pool.acquire().then((connection) => {
        t.borrowed.add(connection)
        let facade = t.facades.get(connection)
        if (!facade) t.facades.set(connection, (facade = new Facade(CONNECTION, new ConnectionTarget(connection))))
        return facade
      }),
    release: (t, args) => {
      const connection = connectionOf(args)
      t.borrowed.delete(connection)
      return t.pool.release(connection)
    },
    destroy: (t, args) => {
      const connection = connectionOf(args)
      t.borrowed.delete(connection)
      return t.pool.destroy(connection)
    },
    drain: (t) => {
      t.drained = true
      return t.pool.drain().then(() => t.pool.clear())
    },
    clear: (t) => t.pool.clear(),
  }),
  properties: {
    size: (t) => t.pool.size,
    available: (t) => t.pool.available,
    pending: (t) => t.pool.pending,
    borrowed: (t) => t.pool.borrowed,
  },
  dispose: (t) => {
    // drain() waits for every borrowed connection to come back, and the plugin's never will: they are
    // destroyed through the pool first, and the idle ones (with the pool's timers) go after a bounded wait.
    for (const connection of t.borrowed) {
      // The pool logs it out: its own facade must not log out a second time.
      const facade = t.facades.get(connection)
      if (facade) facade.target.destroyed = true
      void t.pool.destroy(connection).catch(() => undefined)
    }
    t.borrowed.clear()
    let timer: NodeJS.Timeout | undefined
    const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, DRAIN_WAIT_MS)))
    timer?.unref()
    void Promise.race([t.pool.drain(), waited])
      .then(() => t.pool.clear())
      .catch(() => undefined)
      .finally(() => clearTimeout(timer))
  },
  closed: (t) => t.drained,
}

const POOL_OPTION_KEYS = new Set(['min', 'max', 'acquireTimeoutMillis', 'idleTimeoutMillis', 'evictionRunIntervalMillis', 'fifo', 'autostart'])

/**
 * The connection options, and a warning where one does less here than the SDK would do. The SDK
 * starts keep-alive heartbeats and reads integers as BigInt from its process-wide parameters (as
 * the server echoes the session's back), which stay at their defaults here
 * (snowflake-process-state.ts); it keeps `representNullAsStringNull` as one value for the process,
 * so that option is dropped.
 */
function connectionOptions(args: Args, ctx: Pick<FacadeHost, 'warn' | 'keys'>): Record<string, unknown> {
  const options = snowflakeConnectionOptions(args, 0)
  // Decrypted once here, not by the SDK at every connect of the connection or the pool.
  if (options.privateKey !== undefined) {
    options.privateKey = ctx.keys.unlock(options.privateKey, options.privateKeyPass, 'option "privateKey"', (message) => args.error(message))
    delete options.privateKeyPass
  }
  if ('representNullAsStringNull' in options) {
    ctx.warn(
      "snowflake-sdk: representNullAsStringNull is ignored (the SDK would apply it to every plugin's connections on this server): NULL in a column fetched as a string stays 'NULL', the SDK's default",
    )
    delete options.representNullAsStringNull
  }
  if (options.jsTreatIntegerAsBigInt === true) {
    ctx.warn(
      "snowflake-sdk: jsTreatIntegerAsBigInt has no effect here (the SDK reads it from parameters it shares with every plugin's connections on this server): integers come as numbers; fetchAsString: ['Number'] gives them exactly, as text",
    )
  }
  if (options.clientSessionKeepAlive === true) {
    ctx.warn(
      "snowflake-sdk: clientSessionKeepAlive reaches Snowflake as the session's parameter, but no heartbeats are sent: the SDK would send them for every plugin's connections on this server",
    )
  }
  return options
}

const SNOWFLAKE: FacadeType<SnowflakeSdk> = {
  name: 'snowflake-sdk',
  methods: logged<SnowflakeSdk>({
    createConnection: (sdk, args, ctx) => new Facade(CONNECTION, new ConnectionTarget(sdk.createConnection(connectionOptions(args, ctx)))),
    createPool: (sdk, args, ctx) => {
      const poolOptions = args.record(1, 'poolOptions') ?? {}
      for (const key of Object.keys(poolOptions)) {
        if (!POOL_OPTION_KEYS.has(key)) throw args.error(`pool option "${key}" is not available to plugins (allowed: ${[...POOL_OPTION_KEYS].join(', ')})`)
      }
      return new Facade(POOL, new PoolTarget(sdk.createPool(connectionOptions(args, ctx), poolOptions)))
    },
    configure: (_sdk, args, ctx) => {
      args.record(0, 'options')
      ctx.warn("snowflake-sdk: configure() is ignored: it would change every plugin's connections on this server")
    },
  }),
}

/**
 * `snowflake-sdk` for plugins: createConnection and createPool (acquire/release), connect (callback
 * or promise), execute with binds and a `complete` callback giving a Statement and rows, destroy.
 * The SDK's logger goes to the plugin's logs (warnings and errors), never to the server's stdout or files.
 */
export const snowflakeSpec: ModuleSpec<SnowflakeSdk> = {
  name: 'snowflake-sdk',
  load: () => loadSnowflakeSdk<SnowflakeSdk>(),
  root: (sdk) => new Facade(SNOWFLAKE, sdk),
  rootType: SNOWFLAKE,
}
