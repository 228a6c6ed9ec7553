import type { ServerOptions } from 'node:http'

/**
 * The http server options that give a client `bodyTimeoutMs` to send a whole request (headers at
 * most a minute of it), checked every second. A body sent slowly or left half-sent holds its share
 * of a bodies budget: Node's default gave it 5 minutes. Capture's port and ADMIN_PORT both.
 */
export function bodyTimeouts(bodyTimeoutMs: number): ServerOptions {
  return {
    requestTimeout: bodyTimeoutMs,
    headersTimeout: Math.min(bodyTimeoutMs, 60_000),
    connectionsCheckingInterval: Math.min(1000, bodyTimeoutMs),
  }
}
