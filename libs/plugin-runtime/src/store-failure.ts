import { isRedisRefusal } from '@plugin-server/core'
import type { StoreCapability } from '@plugin-server/plugin-vm'

/** ioredis failing to reach Redis: the connection closed, the offline queue off or full, retries or the command timeout spent. */
const REDIS_UNREACHABLE = /Connection is closed|Stream isn't writeable|max retries per request|Command timed out|Connection in subscriber mode/i

/**
 * pg failing to reach Postgres or losing the connection, from the driver or the pool. Not the pool's
 * "timeout exceeded when trying to connect": every team's storage calls share the pool, so one
 * plugin flooding it would have turned other teams' plugin failures into retried batches.
 */
const POSTGRES_UNREACHABLE = /Connection terminated|Client has encountered a connection error|Client was closed|Cannot use a pool after calling end/i

/** Node's socket errors: on a store's call they are the store's connection, never the plugin's. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'])

/**
 * Postgres error classes that are the server's state, not the statement: connection exception (08),
 * insufficient resources (53: disk full, out of memory, too many connections), operator intervention
 * (57: shutdown, cannot connect now, query canceled by a statement timeout), system error (58: I/O),
 * internal error (XX); and a read-only transaction (25006: a standby or default_transaction_read_only).
 */
function postgresCause(code: string): string | null {
  if (code === '25006') return 'is read-only'
  switch (code.slice(0, 2)) {
    case '08':
      return 'lost the connection'
    case '53':
      return 'is out of resources'
    case '57':
      return 'is shutting down or not accepting commands'
    case '58':
    case 'XX':
      return 'failed'
  }
  return null
}

/**
 * Whether a plugin's cache, cursor, jobs (Redis) or storage (Postgres) call failed because the
 * store itself failed, and how, in words for the logs ("Redis refused the command (OOM command not
 * allowed …)"); null when the failure is the call's own: its arguments, or a limit it hit (those
 * errors are the runtime's own, without a Redis reply or a SQLSTATE). Only the host asks this, with
 * the error the store's client threw; nothing the sandbox sends reaches it.
 */
export function storeFailure(capability: StoreCapability, error: unknown): string | null {
  if (!(error instanceof Error)) return null
  const code = (error as { code?: unknown }).code
  if (capability === 'storage') {
    if (typeof code === 'string' && SOCKET_CODES.has(code)) return `Postgres is unreachable (${error.message})`
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
      const cause = postgresCause(code)
      return cause === null ? null : `Postgres ${cause} (${code}: ${error.message})`
    }
    return POSTGRES_UNREACHABLE.test(error.message) ? `Postgres is unreachable (${error.message})` : null
  }
  if (error.name === 'ReplyError') return isRedisRefusal(error) ? `Redis refused the command (${error.message})` : null
  if (typeof code === 'string' && SOCKET_CODES.has(code)) return `Redis is unreachable (${error.message})`
  return REDIS_UNREACHABLE.test(error.message) || error.name === 'MaxRetriesPerRequestError' ? `Redis is unreachable (${error.message})` : null
}
