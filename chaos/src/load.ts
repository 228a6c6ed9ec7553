import { randomUUID } from 'node:crypto'
import { PostHog } from 'posthog-node'

export interface Load {
  sent: Set<string>
  acked: Set<string>
  withJob: Set<string>
  stop: () => Promise<void>
}

/**
 * posthog-node clients sending a known set of events; a wrapped fetch records which uuids capture
 * acknowledged (answered 200 for), which is what the run holds the fleet to.
 */
export function startLoad(host: string, apiKey: string, eventsPerSecond: number, clients = 2): Load {
  const sent = new Set<string>()
  const acked = new Set<string>()
  const withJob = new Set<string>()
  const recordingFetch = async (url: string, options: Parameters<typeof fetch>[1]) => {
    const response = await fetch(url, options)
    if (response.status === 200 && typeof options?.body === 'string') {
      for (const event of (JSON.parse(options.body) as { batch: { uuid: string }[] }).batch) acked.add(event.uuid)
    }
    return response
  }
  const posthogs = Array.from(
    { length: clients },
    () =>
      new PostHog(apiKey, {
        host,
        flushAt: 50,
        flushInterval: 100,
        disableCompression: true,
        fetchRetryCount: 10,
        fetchRetryDelay: 1000,
        requestTimeout: 15_000,
        fetch: recordingFetch as never,
      }),
  )
  let seq = 0
  const timer = setInterval(() => {
    for (let i = 0; i < eventsPerSecond / 10; i++) {
      const uuid = randomUUID()
      const job = seq % 25 === 0
      sent.add(uuid)
      if (job) withJob.add(uuid)
      posthogs[seq % clients].capture({ uuid, distinctId: `chaos-${seq % 100}`, event: 'chaos event', properties: { seq, with_job: job } })
      seq++
    }
  }, 100)
  return {
    sent,
    acked,
    withJob,
    stop: async () => {
      clearInterval(timer)
      await Promise.all(posthogs.map((p) => p.shutdown(60_000)))
    },
  }
}
