import { parseDate } from '@plugin-server/core'
import { DeadLetter, listDeadLetters, replayDeadLetters } from '@plugin-server/export'
import { POSTGRES_INT_MAX } from '@plugin-server/db'
import { getConfig } from '@plugin-server/management'
import { readJsonObject } from '../http-io'
import { HttpError } from '../interfaces'
import { idList, idParam, intQueryParam, optionalInt, optionalString } from '../parse-input'
import { defineRoute } from './define-route'
import { Route } from './route'

const MAX_DEAD_LETTERS = 1000
const DEFAULT_BATCH_SIZE = 500
const MAX_BATCH_SIZE = 10_000
const MAX_UNKNOWN_IDS_SHOWN = 20
const DEFAULT_HISTORICAL_RUNS = 20
const MAX_HISTORICAL_RUNS = 100

/** Dead letters without their events: those may hold anything users sent. */
function deadLetterView(d: DeadLetter) {
  return {
    id: d.id,
    method: d.method,
    event_count: d.eventCount,
    error: d.error,
    retry_error: d.retryError,
    attempts: d.attempts,
    first_attempt_at: d.firstAttemptAt,
    last_attempt_at: d.lastAttemptAt,
    created_at: d.createdAt,
    replayed_at: d.replayedAt,
  }
}

/** Without a zone, UTC: `Date.parse` read `2024-05-01T00:00` in the local zone of whichever API pod answered. */
function isoTime(body: Record<string, unknown>, key: string): Date {
  const value = optionalString(body, key)
  const time = value === undefined || !/^\d{4}-\d{2}-\d{2}/.test(value) ? null : parseDate(value)
  if (time === null) throw new HttpError(400, 'validation_error', `${key} must be an ISO 8601 time, e.g. 2024-05-01T00:00:00Z`, key)
  return time
}

export const exportRoutes: Route[] = [
  defineRoute('GET /api/configs/:id/dead-letters', 'config', async ({ params, query, management }) => {
    const id = idParam(params.id, 'plugin config', 'id')
    const limit = intQueryParam(query, 'limit', 100, 1, MAX_DEAD_LETTERS)
    await getConfig(management, id)
    return { status: 200, body: (await listDeadLetters(management.pool, id, { newest: limit })).map(deadLetterView) }
  }),
  defineRoute('POST /api/configs/:id/dead-letters/replay', 'config', async ({ req, params, management, services, maxBodyBytes, bodyHold }) => {
    const id = idParam(params.id, 'plugin config', 'id')
    const ids = idList(await readJsonObject(req, maxBodyBytes, bodyHold), 'ids')
    await getConfig(management, id)
    if (ids !== undefined) {
      const pending = new Set((await listDeadLetters(management.pool, id, { ids, onlyPending: true })).map((d) => d.id))
      const unknown = ids.filter((d) => !pending.has(d))
      if (unknown.length > 0) {
        // The first few are enough to find the mistake; the whole list would echo the request back.
        const shown =
          unknown.slice(0, MAX_UNKNOWN_IDS_SHOWN).join(', ') +
          (unknown.length > MAX_UNKNOWN_IDS_SHOWN ? ` and ${unknown.length - MAX_UNKNOWN_IDS_SHOWN} more` : '')
        throw new HttpError(400, 'validation_error', `ids: not dead letters of config ${id} waiting for a replay: ${shown}`, 'ids')
      }
    }
    const result = await replayDeadLetters(management.pool, services.deliveries(), id, services.limits.export, { ids })
    management.logger.info(
      { pluginConfigId: id, replayed: result.replayed, events: result.events, not_replayed: result.notReplayed, remaining: result.remaining },
      'dead letters replayed',
    )
    return {
      status: 200,
      body: { replayed: result.replayed, events: result.events, not_replayed: result.notReplayed, held_back: result.heldBack, remaining: result.remaining },
    }
  }),
  defineRoute('GET /api/configs/:id/historical-exports', 'config', async ({ params, query, management, services }) => {
    const id = idParam(params.id, 'plugin config', 'id')
    const limit = intQueryParam(query, 'limit', DEFAULT_HISTORICAL_RUNS, 1, MAX_HISTORICAL_RUNS)
    const before = query.get('before') ? intQueryParam(query, 'before', 0, 1, POSTGRES_INT_MAX) : undefined
    await getConfig(management, id)
    return { status: 200, body: await services.historical.list(id, { limit, before }) }
  }),
  defineRoute('POST /api/configs/:id/historical-exports', 'config', async ({ req, params, management, services, maxBodyBytes, bodyHold }) => {
    const id = idParam(params.id, 'plugin config', 'id')
    const body = await readJsonObject(req, maxBodyBytes, bodyHold)
    const from = isoTime(body, 'from')
    const to = isoTime(body, 'to')
    if (from >= to) throw new HttpError(400, 'validation_error', 'from must be before to', 'from')
    const batchSize = optionalInt(body, 'batch_size') ?? DEFAULT_BATCH_SIZE
    if (batchSize < 1 || batchSize > MAX_BATCH_SIZE)
      throw new HttpError(400, 'validation_error', `batch_size must be from 1 to ${MAX_BATCH_SIZE}`, 'batch_size')
    await getConfig(management, id)
    // Enqueued for the exporters; the same range again answers the run already there.
    const { run } = await services.historical.start(id, { from, to, batchSize })
    return { status: 202, body: run }
  }),
  defineRoute('GET /api/configs/:id/historical-exports/:run', 'config', async ({ params, management, services }) => {
    const id = idParam(params.id, 'plugin config', 'id')
    const runId = idParam(params.run, 'historical export run', 'run')
    await getConfig(management, id)
    const run = await services.historical.get(id, runId)
    if (!run) throw new HttpError(404, 'not_found', `historical export run ${runId} of plugin config ${id} not found`)
    return { status: 200, body: run }
  }),
  defineRoute('POST /api/configs/:id/historical-exports/:run/cancel', 'config', async ({ params, management, services }) => {
    const id = idParam(params.id, 'plugin config', 'id')
    const runId = idParam(params.run, 'historical export run', 'run')
    await getConfig(management, id)
    return { status: 200, body: await services.historical.cancel(id, runId) }
  }),
]
