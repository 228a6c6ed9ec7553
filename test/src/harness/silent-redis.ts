import assert from 'node:assert/strict'
import net, { type AddressInfo } from 'node:net'
import Redis from 'ioredis'

/**
 * A Redis that answers ioredis' handshake (CLIENT SETINFO, which holds every later command back),
 * then nothing: a Redis paused or cut off mid-connection. `received` counts the bytes of the
 * commands sent to it since, so a test can tell whether a read was sent again. `answer` may answer
 * some (the text of what arrived in, a RESP reply out, or null for silence): those are not counted.
 */
export async function silentRedis(
  answer: (commands: string) => string | null = () => null,
): Promise<{ client: Redis; received: () => number; close: () => void }> {
  let received = 0
  const server = net.createServer((socket) =>
    socket.on('data', (chunk: Buffer) => {
      const text = chunk.toString('latin1')
      const handshakes = text.split('SETINFO').length - 1
      const answered = handshakes > 0 ? '+OK\r\n'.repeat(handshakes) : answer(text)
      if (answered !== null) socket.write(answered)
      else received += chunk.length
    }),
  )
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  // No ready check: its INFO would hold every command back, and the reads would never be sent.
  const client = new Redis(port, '127.0.0.1', { enableReadyCheck: false, maxRetriesPerRequest: null })
  return {
    client,
    received: () => received,
    close: () => {
      client.disconnect()
      server.close()
    },
  }
}

/**
 * Three scrapes of `registry` while `silent` answers nothing: the first sends a read, the others,
 * each past the reuse of a second (a scrape waits 2 s for its read), send none.
 */
export async function assertOneReadWhileUnanswered(silent: { received: () => number }, registry: { metrics(): Promise<string> }): Promise<void> {
  await registry.metrics()
  const firstRead = silent.received()
  assert.ok(firstRead > 0, 'the first scrape sent its read')
  await registry.metrics()
  await registry.metrics()
  assert.equal(silent.received(), firstRead, 'no second read while the first is unanswered')
}
