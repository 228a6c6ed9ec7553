import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { bodyTimeouts, IngestEvent, Logger, QueueBacklogError, withoutTrailingSlashes, withPersonUpdates, withTimeout } from '@plugin-server/core'
import type { CaptureMetrics } from './capture-metrics'
import { clientIp } from './client-ip'
import type { EventBatcher } from '@plugin-server/core'
import { CaptureError, CaptureRequest, normalizeCapture, peekFirstKey, ReadCapture, readCaptureRequest, unknownToken } from './parse'
import { answerSdkRequest, matchSdkEndpoint } from './sdk'
import { BodyBudget, type BodyHold } from '@plugin-server/core'
import { readBody } from './read-body'
import { TokenRateLimiter } from './token-rate-limiter'
import type { ResolvedTeam, TeamResolver } from './team-resolver'

export interface CaptureServerOptions {
  host: string
  port: number
  maxBodyBytes: number
  enqueueTimeoutMs: number
  trustProxy: boolean
  maxEventBytes: number
  rateLimitPerSecond: number
  rateLimitBurst: number
  /** Bytes of request bodies held at once, raw or decoded (CAPTURE_MAX_IN_FLIGHT_MB); 0: no limit. */
  maxInFlightBytes: number
  /** Time a client has to send a whole request, body included (CAPTURE_BODY_TIMEOUT_MS). */
  bodyTimeoutMs: number
  /** Path (on the SDK's api_host) that stores session recordings; null tells posthog-js recording is off. */
  sessionRecordingEndpoint?: string | null
}

export interface CaptureServer {
  port: number
  /**
   * Stops accepting connections and waits for requests in progress to be answered, each with
   * `Connection: close`; connections still open CAPTURE_ENQUEUE_TIMEOUT_MS + 1 s later (a body
   * still being sent) are closed.
   */
  close: () => Promise<void>
}

const CAPTURE_PATHS = new Set(['/batch', '/capture', '/e', '/i/v0/e', '/track', '/engage'])

const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
  'Access-Control-Allow-Headers': 'Content-Type, Content-Encoding, Authorization',
}

/** Another app sharing the port (the admin API): answers and returns true for the paths it owns. */
export type MountedHandler = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<boolean>

export async function startCaptureServer(
  options: CaptureServerOptions,
  deps: { teams: TeamResolver; batcher: EventBatcher; metrics: CaptureMetrics; logger: Logger; mounted?: MountedHandler[] },
): Promise<CaptureServer> {
  const { teams, batcher, metrics, logger } = deps
  const limiter = new TokenRateLimiter(options.rateLimitPerSecond, options.rateLimitBurst)
  const budget = new BodyBudget(options.maxInFlightBytes, (bytes) => metrics.bytesInFlight.set(bytes))
  const overloaded = () =>
    new CaptureError(
      503,
      'overloaded',
      `capture holds ${megabytes(budget.bytes)} MB of request bodies, its limit (CAPTURE_MAX_IN_FLIGHT_MB ${megabytes(budget.limitBytes)}): retry later`,
    )

  const sdkSettings = { sessionRecordingEndpoint: options.sessionRecordingEndpoint ?? null }

  const handle = async (req: http.IncomingMessage, hold: BodyHold): Promise<[number, unknown, string?]> => {
    const url = URL.parse(req.url ?? '/', 'http://capture')
    // Node takes an absolute-form target (`GET http://a:99999/e`) that URL does not.
    if (url === null) throw new CaptureError(400, 'invalid_request', 'the request target is not a valid URL')
    const path = withoutTrailingSlashes(url.pathname)
    if (path === '/_health') return [200, { status: 'ok' }]
    const sdkEndpoint = matchSdkEndpoint(path)
    if (!sdkEndpoint && !CAPTURE_PATHS.has(path)) {
      return [404, { type: 'validation_error', code: 'not_found', detail: `no capture endpoint at ${url.pathname}`, attr: null }]
    }
    if (req.method !== 'POST' && req.method !== 'GET') {
      return [405, { type: 'validation_error', code: 'method_not_allowed', detail: `method ${req.method} is not allowed, use POST`, attr: null }]
    }
    const now = new Date()
    const body = await readBody(req, options.maxBodyBytes, hold, overloaded)
    const request: CaptureRequest = {
      method: req.method,
      path: url.pathname,
      query: url.searchParams,
      rawQuery: url.search.slice(1),
      headers: req.headers,
      body,
      ip: clientIp(req, options.trustProxy),
      now,
    }
    // The key that decides the token when it comes first: `api_key` on a batch (posthog-node's), `token` on /flags.
    const first = peekFirstKey(request)
    const decides = first !== null && (sdkEndpoint ? first.key === 'token' : first.key === 'api_key' && first.batch)
    if (decides && (await teams.teamId(first.token)) === null) throw unknownToken()
    // The decoded body is held in the budget like the raw one (with what its objects take once parsed), for the SDK endpoints too.
    const beforeParse = (parsedSize: number) => {
      if (!hold.resize(parsedSize)) throw overloaded()
    }
    const limits = { maxBodyBytes: options.maxBodyBytes, beforeParse }
    if (sdkEndpoint) {
      const answer = await answerSdkRequest(sdkEndpoint, request, { teams, settings: sdkSettings, limits })
      return [answer.status, answer.body, answer.contentType]
    }
    const read = readCaptureRequest(request, limits)
    const team = await teams.team(read.token)
    if (team === null) throw unknownToken()
    if (!limiter.take(read.token, read.extracted.events.length)) {
      throw new CaptureError(
        429,
        'rate_limited',
        `this project sends more than ${options.rateLimitPerSecond} events per second: slow down and retry`,
        'api_key',
      )
    }
    try {
      await enqueue(read, request, team)
    } catch (err) {
      // Refused (400 or 413 from normalisation) or not acknowledged (503: the queue failed or was slow):
      // the client's retry pays instead. Events a timed-out add stores after all go uncharged.
      limiter.refund(read.token, read.extracted.events.length)
      if (err instanceof QueueBacklogError) {
        // Many at once while Redis stalls: an answer each, not an error line each.
        throw new CaptureError(
          503,
          'overloaded',
          `the ingest queue has not acknowledged ${megabytes(err.unacknowledgedBytes)} MB of events this process sent it (CAPTURE_MAX_IN_FLIGHT_MB ${megabytes(err.limitBytes)}): retry later`,
        )
      }
      throw err
    }
    return [200, { status: 1 }]
  }

  /** The request's events normalised, checked for size and added to the ingest queue. */
  const enqueue = async (read: ReadCapture, request: CaptureRequest, team: ResolvedTeam): Promise<void> => {
    const parsed = normalizeCapture(read, request)
    const teamId = team.id
    // One line per request, however many of its events have a bad timestamp: a public token's one
    // request of 5 000 such events wrote 5 000 lines on capture's event loop.
    if (parsed.warnings.length > 0) logger.warn({ team_id: teamId, warnings: parsed.warnings.length, warning: parsed.warnings[0] }, 'capture warning')
    const events: IngestEvent[] = parsed.events.map((e) => ({
      uuid: e.uuid,
      team_id: teamId,
      event: e.event,
      distinct_id: e.distinct_id,
      properties: withPersonUpdates(e.properties, e.set, e.set_once),
      timestamp: e.timestamp,
      now: e.now,
      sent_at: e.sent_at,
      // As PostHog's capture: a team that anonymises IPs never has the address queued.
      ip: team.anonymizeIps ? null : e.ip,
      site_url: e.site_url,
    }))
    const sizes = events.map((e) => Buffer.byteLength(JSON.stringify(e)))
    const tooLarge = sizes.findIndex((size) => size > options.maxEventBytes)
    if (tooLarge >= 0) {
      throw new CaptureError(
        413,
        'event_too_large',
        `event at index ${tooLarge} is ${sizes[tooLarge]} bytes, over the ${options.maxEventBytes} byte limit per event`,
      )
    }
    const started = process.hrtime.bigint()
    await withTimeout(batcher.add(events, sizes), options.enqueueTimeoutMs, `the ingest queue did not accept the events within ${options.enqueueTimeoutMs} ms`)
    metrics.enqueueSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9)
    metrics.events.inc(events.length)
  }

  // Logged whole, answered without it: the client is anyone on the internet, the cause may name hosts.
  // The path only: a GET capture carries its events (personal data) in the query.
  const logFailure = (req: http.IncomingMessage, err: unknown) =>
    logger.error({ err: (err as Error).message, path: (req.url ?? '/').split('?')[0] }, 'capture request failed')
  // Once closing, keep-alive clients are told to go (their busy connections would keep the server,
  // and the shutdown, waiting past the grace period) and connections are closed as they go idle.
  let closing = false
  const server = http.createServer(bodyTimeouts(options.bodyTimeoutMs), async (req, res) => {
    if (closing) res.setHeader('Connection', 'close')
    res.on('finish', () => closing && setImmediate(() => server.closeIdleConnections()))
    for (const mounted of deps.mounted ?? []) {
      // A mounted handler (the admin API, the UI) that fails has answered or owns the request: handling
      // it again here would write a second answer, and throw once the first had sent its headers.
      const served = await mounted(req, res).catch((err: unknown) => {
        logFailure(req, err)
        if (res.headersSent) res.destroy()
        else respond(res, 503, { type: 'server_error', code: 'unavailable', detail: 'the request failed, retry later', attr: null })
        return true
      })
      if (served) return
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204, CORS).end()
      return
    }
    const hold = budget.hold()
    handle(req, hold)
      .then(
        ([status, body, contentType]) => respond(res, status, body, contentType),
        (err: unknown) => {
          if (err instanceof CaptureError) return respond(res, err.status, err.toBody())
          logFailure(req, err)
          respond(res, 503, { type: 'server_error', code: 'unavailable', detail: 'events were not stored, retry later', attr: null })
        },
      )
      .finally(hold.release)
  })
  const respond = (res: http.ServerResponse, status: number, body: unknown, contentType = 'application/json') => {
    metrics.requests.inc({ status: String(status) })
    const retryAfter = status === 429 || status === 503 ? { 'Retry-After': '1' } : {}
    const text = contentType === 'application/json' ? JSON.stringify(body) : String(body)
    const close = closing ? { Connection: 'close' } : {}
    res.writeHead(status, { 'Content-Type': contentType, ...CORS, ...retryAfter, ...close }).end(text)
  }

  server.keepAliveTimeout = 65_000
  await new Promise<void>((resolve) => server.listen(options.port, options.host, resolve))
  const port = (server.address() as AddressInfo).port
  return {
    port,
    close: () =>
      new Promise((resolve) => {
        closing = true
        // A request whose body is in is answered within the enqueue timeout; what is left after is a client still sending.
        const cut = setTimeout(() => server.closeAllConnections(), options.enqueueTimeoutMs + 1000)
        server.close(() => (clearTimeout(cut), resolve()))
        server.closeIdleConnections()
      }),
  }
}

function megabytes(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1)
}
