/** Errors the VM raises to its callers. Each message names the plugin and config id. */
import type { PluginLimitKind } from './interfaces'

/** The plugin could not be read, validated, compiled or evaluated. */
export class PluginLoadError extends Error {
  override name = 'PluginLoadError'
}

/** The plugin threw (or rejected) inside a call. Carries the sandbox error's name and retry flag. */
export class PluginError extends Error {
  override name = 'PluginError'
  constructor(
    message: string,
    readonly pluginErrorName: string,
    readonly isRetryError: boolean,
    readonly pluginStack?: string,
    /** What the plugin itself said, without the plugin/config label (for users' eyes). */
    readonly pluginMessage: string = message,
  ) {
    super(message)
  }
}

/**
 * The plugin's call failed while one of the server's own stores (Redis, Postgres) was failing under
 * its host calls (`storeFailure`, as the host classified it): not the plugin's fault, so callers retry it
 * as a RetryError (isRetryError), and the ingest chain fails the batch instead of keeping its events
 * unenriched. Decided on the host side only: nothing the sandbox sends can make one.
 */
export class PluginStoreError extends PluginError {
  override name = 'PluginStoreError'
  constructor(
    message: string,
    readonly storeFailure: string,
    pluginErrorName: string,
    pluginStack?: string,
    pluginMessage?: string,
  ) {
    super(message, pluginErrorName, true, pluginStack, pluginMessage)
  }
}

/** A call (or background work) breached a limit; the isolate has been disposed. */
export class PluginLimitError extends Error {
  override name = 'PluginLimitError'
  constructor(
    message: string,
    readonly limit: PluginLimitKind,
  ) {
    super(message)
  }
}

/** The instance was disposed (breach, eviction or explicit) before or during the call. */
export class PluginDisposedError extends Error {
  override name = 'PluginDisposedError'
}
