import { TryRefusedError, tryEvent } from '@plugin-server/try-it'
import { HttpError } from '../interfaces'
import { readJsonObject } from '../http-io'
import { idParam } from '../parse-input'
import { Route } from './route'

/** About how long a dry run takes; a client told to come back sooner would only be refused again. */
const RETRY_AFTER_SECONDS = '5'

export const tryRoutes: Route[] = [
  {
    // A dry run: the plugins' own errors are part of the 200 answer, only bad input and refusals are not.
    method: 'POST',
    pattern: '/api/teams/:teamId/try',
    access: 'team',
    handler: async ({ req, params, management, maxBodyBytes, pluginSettings }) => {
      const teamId = idParam(params.teamId, 'team')
      const body = await readJsonObject(req, maxBodyBytes)
      try {
        const result = await tryEvent({ ...management, settings: pluginSettings }, { teamId, event: body.event, target: body.target })
        return { status: 200, body: result }
      } catch (err) {
        if (!(err instanceof TryRefusedError)) throw err
        const headers: Record<string, string> = err.status === 429 ? { 'Retry-After': RETRY_AFTER_SECONDS } : {}
        throw new HttpError(err.status, err.code, err.message, err.field, headers)
      }
    },
  },
]
