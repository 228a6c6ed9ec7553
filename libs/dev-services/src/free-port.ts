import fs from 'node:fs'
import net from 'node:net'

/** Below every kernel's ephemeral ports: Linux starts them at 32768 by default, macOS and Windows at 49152. */
const DEFAULT_EPHEMERAL_START = 32_768
const LOWEST = 10_000
const TRIES = 100

/**
 * A port free on every interface now, for a process about to be started to listen on. Taken from
 * below the kernel's ephemeral range: a port the kernel handed out for port 0 and got back is the
 * kind it hands out again, as the local port of any process's next outgoing connection (a role
 * connecting to Redis while the one meant to listen there is still starting), and then the listen
 * fails with EADDRINUSE. Below that range only another listener can take it.
 */
export async function freePort(): Promise<number> {
  const end = ephemeralStart()
  for (let i = 0; i < TRIES; i++) {
    const port = LOWEST + Math.floor(Math.random() * (end - LOWEST))
    if (await canListen(port)) return port
  }
  throw new Error(`no free port found in ${TRIES} tries between ${LOWEST} and ${end}`)
}

/** The first port of the kernel's ephemeral range (ip_local_port_range), where the system says. */
export function ephemeralStart(): number {
  try {
    const start = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
    if (Number.isInteger(start) && start > LOWEST + 1_000) return Math.min(start, DEFAULT_EPHEMERAL_START)
  } catch {
    // Not Linux: the default holds for the others.
  }
  return DEFAULT_EPHEMERAL_START
}

/** Whether a listener could bind the port on every interface (the roles' servers listen on all of them). */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.once('error', () => resolve(false))
    server.listen({ port, exclusive: true }, () => server.close(() => resolve(true)))
  })
}

export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check().catch(() => false)) return
    if (Date.now() > deadline) throw new Error(`${what} did not become ready within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}
