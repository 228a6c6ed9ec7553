import type http from 'node:http'
import { isIP } from 'node:net'

/**
 * An `X-Forwarded-For` entry with the client's port after its address, `203.0.113.7:51234` or
 * `[2001:db8::1]:443`, as some proxies write it (Azure's Application Gateway); PostHog's capture
 * strips the port.
 */
const WITH_PORT = /^(?:\[([0-9A-Fa-f:.]+)\]|(\d{1,3}(?:\.\d{1,3}){3})):\d{1,5}$/

/**
 * The client's address: with a trusted proxy, the first `X-Forwarded-For` entry when it is an address,
 * without a port it may carry (the header is the client's to fill up to 16 KB, and each event of a
 * request carries a copy of it); else the socket's.
 */
export function clientIp(req: http.IncomingMessage, trustProxy: boolean): string | null {
  if (trustProxy) {
    const forwarded = req.headers['x-forwarded-for']
    const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim()
    const address = first ? forwardedAddress(first) : null
    if (address !== null) return address
  }
  return req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? null
}

function forwardedAddress(entry: string): string | null {
  if (isIP(entry) !== 0) return entry
  const withPort = WITH_PORT.exec(entry)
  const address = withPort?.[1] ?? withPort?.[2]
  return address !== undefined && isIP(address) !== 0 ? address : null
}
