/**
 * node-fetch's `FetchError` (`import { FetchError } from 'node-fetch'`): a request that failed
 * without an HTTP answer. Plugins test `error instanceof FetchError` to retry operational failures
 * (PostHog's BigQuery plugin does); host errors named FetchError, from `fetch` or a bridged SDK's
 * own requests, arrive as instances of this class.
 */
export class FetchError extends Error {
  type: string
  code?: string
  errno?: string

  constructor(message: string, type = 'system', systemError?: { code?: string; errno?: string }) {
    super(message)
    this.name = 'FetchError'
    this.type = type
    if (systemError?.code !== undefined) this.code = systemError.code
    if (systemError?.errno !== undefined || systemError?.code !== undefined) this.errno = systemError.errno ?? systemError.code
  }
}
