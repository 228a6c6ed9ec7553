import { PluginLimitError, PluginLoadError } from '@plugin-server/plugin-vm'
import { PluginSourceMismatchError } from './check-plugin-source'

/** Why a plugin could not be loaded: the `reason` of `plugin_load_failures_total` and of the config's error. */
export type LoadFailureReason = 'missing_module' | 'compile_error' | 'invalid_plugin_json' | 'source_mismatch' | 'evaluation_error' | 'limit'

export const LOAD_FAILURE_REASONS: readonly LoadFailureReason[] = [
  'missing_module',
  'compile_error',
  'invalid_plugin_json',
  'source_mismatch',
  'evaluation_error',
  'limit',
]

/**
 * `compile`: building the stored files (plugin.json, compiler); `evaluate`: running the bundle in its
 * isolate. Null for errors that are not the plugin's (Postgres unreachable while reading its files).
 */
export function loadFailureReason(stage: 'compile' | 'evaluate', err: unknown): LoadFailureReason | null {
  if (err instanceof PluginLimitError) return 'limit'
  if (err instanceof PluginSourceMismatchError) return 'source_mismatch'
  if (!(err instanceof PluginLoadError)) return null
  const message = err.message
  // The compiler refuses unknown imports by name; the sandbox's require does the same at run time.
  if (/module "[^"]*" is not available to plugins|cannot find \S+ imported from/.test(message)) return 'missing_module'
  if (stage === 'evaluate') return 'evaluation_error'
  if (/^plugin\.json/.test(message)) return 'invalid_plugin_json'
  if (/main file "[^"]*" \(plugin\.json main\) not found|no main in plugin\.json/.test(message)) return 'source_mismatch'
  return 'compile_error'
}
