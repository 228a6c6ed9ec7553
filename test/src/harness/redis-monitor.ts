import { randomUUID } from 'node:crypto'
import type Redis from 'ioredis'

/**
 * The names of the commands clients send Redis while `during` runs, in order, those `matches`
 * picks (MONITOR: `args` are the command's name and arguments, `source` 'lua' for what a script ran).
 */
export async function monitoredCommands(redis: Redis, matches: (args: string[], source: string) => boolean, during: () => Promise<unknown>): Promise<string[]> {
  const monitor = await redis.monitor()
  const commands: string[] = []
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (matches(args, source)) commands.push(args[0].toLowerCase())
  })
  try {
    await during()
    // Redis feeds a monitor in the order it runs commands: once this shows, everything before it has.
    const marker = `end of ${randomUUID()}`
    const seen = new Promise<void>((resolve) => monitor.on('monitor', (_time: string, args: string[]) => args[1] === marker && resolve()))
    await redis.echo(marker)
    await seen
  } finally {
    monitor.disconnect()
  }
  return commands
}
