import type { Socket } from 'node:net'

/** What a socket did: reached a Redis-speaking service and got its answer to `PING`, or failed (and how). */
export function pingOutcome(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.once('data', (data) => {
      resolve(`replied ${data.toString().trim()}`)
      socket.destroy()
    })
    socket.once('error', (error) => resolve(`${(error as NodeJS.ErrnoException).code}: ${error.message}`))
    // After an answer or an error this changes nothing: a promise settles once.
    socket.once('close', () => resolve('closed without an answer'))
  })
}
