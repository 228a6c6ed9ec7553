import { ManagementError } from './interfaces'
import type { PluginConfigRow } from './redact'

/**
 * The workers could not run a config whose sealed value does not open: an enable of it is refused
 * naming the field to set again, unless `givenAnew` holds it (an update that replaces it too).
 */
export function assertReadable(row: Pick<PluginConfigRow, 'plugin_name' | 'unreadable'>, givenAnew: Record<string, unknown> = {}): void {
  const [key, why] = Object.entries(row.unreadable).find(([field]) => !Object.hasOwn(givenAnew, field)) ?? []
  if (key === undefined) return
  throw new ManagementError(
    'validation_error',
    `plugin ${JSON.stringify(row.plugin_name)}: config field ${JSON.stringify(key)} holds a sealed value that does not open here (${why}): set it again or clear it`,
    key,
  )
}
