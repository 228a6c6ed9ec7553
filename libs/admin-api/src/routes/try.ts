import { MAX_TRY_ATTACHMENT_BYTES, MAX_TRY_BODY_BYTES, MAX_TRY_EVENT_BYTES, TryRefusedError, tryEvent } from '@plugin-server/try-it'
import { HttpError } from '../interfaces'
import { readJsonObject } from '../http-io'
import { idParam } from '../parse-input'
import { defineRoute } from './define-route'
import { Route } from './route'

/** About how long a dry run takes; a client told to come back sooner would only be refused again. */
const RETRY_AFTER_SECONDS = '5'
/** Any team's token may call it: a body no valid dry run could have is refused before it is held and parsed. */
const TOO_LARGE = `a dry run takes an event of at most ${MAX_TRY_EVENT_BYTES} bytes and attachments of at most ${MAX_TRY_ATTACHMENT_BYTES} bytes in all (base64)`

export const tryRoutes: Route[] = [
  // A dry run: the plugins' own errors are part of the 200 answer, only bad input and refusals are not.
  defineRoute('POST /api/teams/:teamId/try', 'team', async ({ req, params, management, maxBodyBytes, pluginSettings, bodyHold }) => {
    const teamId = idParam(params.teamId, 'team', 'teamId')
    const body = await readJsonObject(req, Math.min(maxBodyBytes, MAX_TRY_BODY_BYTES), bodyHold, TOO_LARGE)
    try {
      const result = await tryEvent({ ...management, settings: pluginSettings }, { teamId, event: body.event, target: body.target })
      return { status: 200, body: result }
    } catch (err) {
      if (!(err instanceof TryRefusedError)) throw err
      const headers: Record<string, string> = err.status === 429 ? { 'Retry-After': RETRY_AFTER_SECONDS } : {}
      throw new HttpError(err.status, err.code, err.message, err.field, headers)
    }
  }),
]
