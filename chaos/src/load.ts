import { randomUUID } from 'node:crypto'
import { PostHog } from 'posthog-node'
import { eventKey } from './keys'

export interface LoadTeam {
  id: number
  apiToken: string
}

export interface Load {
  /** Event key → whether its processEvent enqueues a job. */
  sent: Map<string, { withJob: boolean }>
  /** Event key → when capture's 200 for it arrived (the first time, if the client sent it twice). */
  acked: Map<string, number>
  /** Requests capture did not answer 200 (refused, cut off, timed out): each one the client retried. */
  failedRequests: number
  /** Requests sent to capture and not answered yet. */
  inFlight: number
  stop: () => Promise<void>
}

/**
 * posthog-node clients, one per team, sending a known set of events; a wrapped fetch records which
 * events capture acknowledged (answered 200 for) and when, which is what the run holds the fleet to.
 */
export function startLoad(host: string, teams: LoadTeam[], eventsPerSecond: number): Load {
  const load: Load = { sent: new Map(), acked: new Map(), failedRequests: 0, inFlight: 0, stop: async () => undefined }
  const recordingFetch = (teamId: number) => async (url: string, options: Parameters<typeof fetch>[1]) => {
    load.inFlight++
    const response = await fetch(url, options)
      .catch((err: Error) => {
        load.failedRequests++
        throw err
      })
      .finally(() => load.inFlight--)
    if (response.status !== 200) load.failedRequests++
    if (response.status === 200 && typeof options?.body === 'string') {
      const now = Date.now()
      for (const event of (JSON.parse(options.body) as { batch: { uuid: string }[] }).batch) {
        const key = eventKey(teamId, event.uuid)
        if (!load.acked.has(key)) load.acked.set(key, now)
      }
    }
    return response
  }
  const clients = teams.map(
    (team) =>
      new PostHog(team.apiToken, {
        host,
        flushAt: 50,
        flushInterval: 100,
        disableCompression: true,
        fetchRetryCount: 10,
        fetchRetryDelay: 1000,
        requestTimeout: 15_000,
        fetch: recordingFetch(team.id) as never,
      }),
  )
  let seq = 0
  const timer = setInterval(() => {
    for (let i = 0; i < eventsPerSecond / 10; i++) {
      const uuid = randomUUID()
      const withJob = seq % 25 === 0
      const client = seq % teams.length
      load.sent.set(eventKey(teams[client].id, uuid), { withJob })
      clients[client].capture({ uuid, distinctId: `chaos-${seq % 100}`, event: 'chaos event', properties: { seq, with_job: withJob } })
      seq++
    }
  }, 100)
  load.stop = async () => {
    clearInterval(timer)
    await Promise.all(clients.map((c) => c.shutdown(60_000)))
  }
  return load
}
