import { PluginConfigUnavailableError } from '@plugin-server/plugin-runtime'
import { PluginDisposedError, PluginError, PluginLimitError } from '@plugin-server/plugin-vm'

export interface ClassifiedError {
  retry: boolean
  message: string
}

/**
 * RetryError is retried, as the reference says. So are failures that are not the plugin's doing:
 * the call deadline (a destination that hangs), an isolate disposed under the call (a reload) and
 * the server failing to load the config again (PluginConfigUnavailableError).
 * Everything else, a memory breach included, is not retried.
 */
export function classifyError(err: unknown): ClassifiedError {
  if (err instanceof PluginError) return { retry: err.isRetryError, message: `${err.pluginErrorName}: ${err.message}` }
  if (err instanceof PluginLimitError) return { retry: err.limit === 'time', message: err.message }
  if (err instanceof PluginDisposedError || err instanceof PluginConfigUnavailableError) return { retry: true, message: err.message }
  if (err instanceof WebhookError) return { retry: err.retry, message: err.message }
  return { retry: false, message: err instanceof Error ? err.message : String(err) }
}

/** A webhook the destination refused (4xx: not retried) or could not take (network, 429, 5xx: retried). */
export class WebhookError extends Error {
  override name = 'WebhookError'
  constructor(
    message: string,
    readonly retry: boolean,
  ) {
    super(message)
  }
}
