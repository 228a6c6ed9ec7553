import { PluginLoadError } from '@plugin-server/plugin-vm'
import { ManagementError } from './interfaces'

/** The loader's message already names the plugin and field; it becomes a 400 as it is. */
export function asManagementError(err: unknown): unknown {
  if (err instanceof PluginLoadError) return new ManagementError('invalid_plugin', err.message)
  return err
}
