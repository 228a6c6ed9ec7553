import { Socket } from 'net'
import { AddressPolicy } from './address-policy'
import { FetchRefusedError } from './fetch-refused-error'
import { guardedLookup } from './guarded-lookup'

type Ctor = new (...args: unknown[]) => object

interface PgModule {
  Client: Ctor
  Pool: Ctor
  [key: string]: unknown
}

/**
 * A socket that connects only to addresses the policy accepts, with the same lookup as fetch, and
 * never to a Unix socket (a local Postgres reached by path would bypass every address rule).
 */
function guardedSocket(policy: AddressPolicy): Socket {
  const socket = new Socket()
  const connect = socket.connect.bind(socket) as (options: object) => Socket
  const lookup = guardedLookup(policy)
  ;(socket as unknown as { connect: (port: unknown, host?: unknown) => Socket }).connect = (port, host) => {
    if (typeof port !== 'number' && !/^\d+$/.test(String(port))) {
      process.nextTick(() => socket.destroy(new FetchRefusedError('pg: Unix socket connections are not allowed')))
      return socket
    }
    const target = String(host ?? 'localhost')
    const why = policy.refusal(target.replace(/^\[(.*)\]$/, '$1'))
    if (why !== null && !/is not an IP address/.test(why)) {
      process.nextTick(() => socket.destroy(new FetchRefusedError(`pg: ${why}`)))
      return socket
    }
    return connect({ port: Number(port), host: target, lookup })
  }
  return socket
}

function withStream(config: unknown, policy: AddressPolicy): Record<string, unknown> {
  const base = typeof config === 'string' ? { connectionString: config } : { ...((config ?? {}) as Record<string, unknown>) }
  // Always ours: a plugin-supplied stream would choose its own destination.
  return { ...base, stream: () => guardedSocket(policy) }
}

/**
 * `pg` as plugins see it through the bridge: Client and Pool connect through guarded sockets, so
 * the fetch address policy (and its allowlist) applies to databases plugins open from the host.
 */
export function guardPg(pg: PgModule, policy: AddressPolicy): PgModule {
  class Client extends pg.Client {
    constructor(config?: unknown) {
      super(withStream(config, policy))
    }
  }
  class Pool extends pg.Pool {
    constructor(config?: unknown) {
      super({ ...withStream(config, policy), Client })
    }
  }
  return { ...pg, Client, Pool }
}
