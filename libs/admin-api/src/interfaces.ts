import type { IncomingMessage, ServerResponse } from 'node:http'
import type Redis from 'ioredis'
import type { Pool } from 'pg'
import type { ErrorBody as WireErrorBody, ErrorCode } from '@plugin-server/admin-contract'
import type { Logger } from '@plugin-server/core'
import type { SecretBox } from '@plugin-server/secrets'
import type { TeamUsageLimits } from '@plugin-server/management'
import type { TrySettings } from '@plugin-server/try-it'
import type { LogTailOptions } from './log-tail'

export interface AdminApiDeps {
  pool: Pool
  redis: Redis
  queuePrefix: string
  logger: Logger
  /** Seals and opens secret config values; built from the loaded config (`plugins.secretsKeys`). */
  secrets: SecretBox
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
  /** Bytes of request bodies held at once, past which a body is refused with 503 (one alone always passes); twice `maxBodyBytes` by default. */
  bodiesInFlightBytes?: number
  /**
   * The PLUGIN_* settings (`config.plugins`) dry runs (`POST /api/teams/:teamId/try`) obey: limits,
   * fetch allowlist, GeoIP database, PostHog API. Without them: the defaults and no fetch allowlist.
   */
  pluginSettings?: Partial<TrySettings>
  /** The process's config: the team limits the usage route reports against and the pending-event limits replays are held to; the workers' defaults when absent. */
  limits?: TeamUsageLimits
  /** Largest attachment a config may be given (PLUGIN_ATTACHMENT_MAX_BYTES); 10 MiB by default. */
  attachmentMaxBytes?: number
  /** Log long-polls (`?after=&wait=`): at most 100 held at once, 10 of them for one team's configs, checked every 500 ms, by default. */
  logLongPolls?: Partial<LogTailOptions>
  /** SCHEDULER_SHARDS: which queue holds a config's task chains (default 1). */
  schedulerShards?: number
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

/** The error codes and body of every 4xx/5xx answer are the wire contract's. */
export type HttpErrorCode = ErrorCode
export type ErrorBody = WireErrorBody

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
