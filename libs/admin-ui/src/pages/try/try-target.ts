import type { ConfigField, NewAttachment, PluginEvent, TryTarget } from '../../api/types'
import { configToSend } from '../configs/form-model'

/** The select's value (`config:<id>`, `plugin:<id>`, `chain`) as the API's target; values and files count for a plugin only. */
export function targetFromOption(
  option: string,
  schema: ConfigField[],
  values: Record<string, string>,
  attachments: Record<string, NewAttachment> = {},
): TryTarget {
  const [kind, id] = option.split(':')
  if (kind === 'config') return { plugin_config_id: Number(id) }
  if (kind === 'plugin') return { plugin_id: Number(id), config: configToSend(schema, 'try', values, {}), attachments }
  return { chain: true }
}

/** The textarea's event, or a message saying what is wrong with it. */
export function parseEvent(text: string): PluginEvent | string {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    return `The event is not valid JSON: ${(err as Error).message}`
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'The event must be a JSON object.'
  if (typeof (value as { event?: unknown }).event !== 'string') return 'The event needs an "event" name (a string).'
  return value as PluginEvent
}
