import { randomUUID } from 'node:crypto'
import net from 'node:net'
import type Redis from 'ioredis'

/** One MONITOR line's command: its name and arguments, and who ran it ('lua' for a script, else the client's address). */
interface Monitored {
  args: string[]
  source: string
}

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b', '"': '"', '\\': '\\' }

/** `1700000000.123456 [0 127.0.0.1:5000] "set" "k" "v"` → its source and unescaped arguments. */
function parseLine(line: string): Monitored | null {
  const head = /^\+\d+\.\d+ \[\d+ ([^\]]+)\] /.exec(line)
  if (!head) return null
  const args: string[] = []
  for (const [, quoted] of line.slice(head[0].length).matchAll(/"((?:[^"\\]|\\.)*)"/g)) {
    args.push(quoted.replace(/\\(x[0-9a-fA-F]{2}|.)/g, (_, e: string) => (e.length === 3 ? String.fromCharCode(parseInt(e.slice(1), 16)) : (ESCAPES[e] ?? e))))
  }
  return { args, source: head[1] }
}

/**
 * The names of the commands clients send Redis while `during` runs, in order, those `matches`
 * picks (MONITOR: `args` are the command's name and arguments, `source` 'lua' for what a script ran).
 * MONITOR is read from a socket of its own: ioredis' monitor() takes a monitored line that arrives
 * in the same packet as MONITOR's own OK for a reply with no command, and throws ("Command queue
 * state error") when another client's command lands in that instant.
 */
export async function monitoredCommands(redis: Redis, matches: (args: string[], source: string) => boolean, during: () => Promise<unknown>): Promise<string[]> {
  const socket = net.connect(redis.options.port ?? 6379, redis.options.host ?? '127.0.0.1')
  const commands: string[] = []
  const marker = `end of ${randomUUID()}`
  let pending = ''
  let started!: () => void
  let ended!: () => void
  const monitoring = new Promise<void>((resolve) => (started = resolve))
  const seen = new Promise<void>((resolve) => (ended = resolve))
  socket.on('data', (chunk: Buffer) => {
    pending += chunk.toString('latin1')
    let end: number
    while ((end = pending.indexOf('\r\n')) >= 0) {
      const line = pending.slice(0, end)
      pending = pending.slice(end + 2)
      if (line === '+OK') started()
      const command = parseLine(line)
      if (!command) continue
      if (command.args[0]?.toLowerCase() === 'echo' && command.args[1] === marker) ended()
      else if (matches(command.args, command.source)) commands.push(command.args[0].toLowerCase())
    }
  })
  try {
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))
    socket.write('MONITOR\r\n')
    await monitoring
    await during()
    // Redis feeds a monitor in the order it runs commands: once this shows, everything before it has.
    await redis.echo(marker)
    await seen
  } finally {
    socket.destroy()
  }
  return commands
}
