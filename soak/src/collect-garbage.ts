/**
 * Runs a full garbage collection in a process started with `--inspect=127.0.0.1:<port>`, through
 * the DevTools protocol's HeapProfiler.collectGarbage, and resolves once it has run.
 *
 * Why: V8 collects the old generation lazily. A process allocating slowly (the job-worker) let
 * "heap used" climb from 27 to 66 MB over 10 minutes of garbage while two heap snapshots taken
 * 6 minutes apart (each after a full GC) held 28.10 and 28.16 MB. Sampled as is, heap used measures
 * when V8 last collected, not what is kept; after a forced collection it measures what is kept,
 * which is what a leak grows.
 */
export async function collectGarbage(inspectPort: number, timeoutMs = 10_000): Promise<void> {
  const signal = AbortSignal.timeout(timeoutMs)
  const targets = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`, { signal })).json()) as { webSocketDebuggerUrl?: string }[]
  const url = targets.find((t) => t.webSocketDebuggerUrl)?.webSocketDebuggerUrl
  if (!url) throw new Error(`no inspector target on port ${inspectPort}`)
  const socket = new WebSocket(url)
  try {
    await new Promise<void>((resolve, reject) => {
      const fail = (reason: string) => reject(new Error(`inspector on port ${inspectPort}: ${reason}`))
      signal.addEventListener('abort', () => fail('timed out'), { once: true })
      socket.addEventListener('error', () => fail('connection failed'), { once: true })
      socket.addEventListener('open', () => socket.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' })), { once: true })
      socket.addEventListener('message', (message: MessageEvent) => {
        const reply = JSON.parse(String(message.data)) as { id?: number; error?: { message: string } }
        if (reply.id !== 1) return
        if (reply.error) fail(reply.error.message)
        else resolve()
      })
    })
  } finally {
    socket.close()
  }
}
