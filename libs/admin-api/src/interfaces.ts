import type { IncomingMessage, ServerResponse } from 'node:http'
import type Redis from 'ioredis'
import type { Pool } from 'pg'
import type { Logger } from '@plugin-server/core'
import type { TrySettings } from '@plugin-server/try-it'
import type { LogTailOptions } from './log-tail'

export interface AdminApiDeps {
  pool: Pool
  redis: Redis
  queuePrefix: string
  logger: Logger
  /** The operator token (every route, every team); null: only team tokens, if `teamTokens`. */
  token: string | null
  /**
   * Serve the API when `token` is null, to team-scoped tokens (`pst_…`, see the meta
   * team-admin-token operations). Team tokens are accepted whenever the API is on; with neither
   * an operator token nor this flag every request is a 503.
   */
  teamTokens?: boolean
  /** Largest accepted request body (archives, attachments, JSON); 50 MB by default. */
  maxBodyBytes?: number
  /**
   * The PLUGIN_* settings (`config.plugins`) dry runs (`POST /api/teams/:teamId/try`) obey: limits,
   * fetch allowlist, GeoIP database, PostHog API. Without them: the defaults and no fetch allowlist.
   */
  pluginSettings?: Partial<TrySettings>
  /** Largest attachment a config may be given (PLUGIN_ATTACHMENT_MAX_BYTES); 10 MiB by default. */
  attachmentMaxBytes?: number
  /** Log long-polls (`?after=&wait=`): at most 100 held at once, checked every 500 ms, by default. */
  logLongPolls?: Partial<LogTailOptions>
}

/** Who made a request: the operator, or a token of one team. */
export type AdminPrincipal = { kind: 'operator' } | { kind: 'team'; teamId: number; tokenId: number }

/** Answers requests under /api/ and resolves true; resolves false, untouched, for any other path. */
export type AdminApiHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>

/** The handler, and what stops its background work when the process shuts down. */
export interface AdminApi extends AdminApiHandler {
  /** Closes the queues this process opened (historical runs are the exporters' and go on). */
  close(): Promise<void>
  /** Answers the log long-polls held now, so that closing the server does not wait out their `wait`. */
  releaseLongPolls(): void
  /** Log long-polls held now. */
  longPolls(): number
}

export type HttpErrorCode =
  | 'validation_error'
  | 'invalid_plugin'
  | 'invalid_json'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'admin_api_disabled'
  | 'unavailable'
  | 'too_many_requests'
  | 'internal_error'

/** Every error response: `{ error: { code, message, field? } }`. */
export interface ErrorBody {
  error: { code: HttpErrorCode; message: string; field?: string }
}

export class HttpError extends Error {
  override name = 'HttpError'
  constructor(
    readonly status: number,
    readonly code: HttpErrorCode,
    message: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
  }
}
