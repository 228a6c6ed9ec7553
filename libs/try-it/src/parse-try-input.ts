import { randomUUID } from 'node:crypto'
import type { PluginEvent } from '@plugin-server/plugin-vm'
import { AttachmentInput, ConfigInputValue, ManagementError, parseAttachmentInputs } from '@plugin-server/management'
import type { TryTarget } from './interfaces'

/** The capture app's default limit for one event; a sample event has no reason to be larger. */
export const MAX_TRY_EVENT_BYTES = 1024 * 1024
/** Used when the sample event names nobody: the dry run still needs someone for plugins keyed on it. */
export const TRY_DISTINCT_ID = 'try-it'
/** All attachments of one dry run together: enough for lookup tables and keys, and each run holds them in memory. */
export const MAX_TRY_ATTACHMENT_BYTES = 10 * 1024 * 1024
/**
 * The largest request body a valid dry run can have, so that no more is read and parsed: the event
 * at its limit, the attachments at theirs as base64 (4 characters per 3 bytes), and as much again
 * as the event for the rest (config values, file names, the JSON around them, an event sent
 * less compactly than it is measured).
 */
export const MAX_TRY_BODY_BYTES = 2 * MAX_TRY_EVENT_BYTES + Math.ceil(MAX_TRY_ATTACHMENT_BYTES / 3) * 4

const TARGET_SHAPES = '{ "plugin_config_id": id }, { "plugin_id": id or name, "config"?: {…}, "attachments"?: {…} } or { "chain": true }'

function invalid(field: string, message: string): ManagementError {
  return new ManagementError('validation_error', message, field)
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * A sample event as the chain would receive it from capture: a name is required, who/when/which id
 * get defaults, and the team is always the one being tried (a plugin cannot be shown another team's event).
 */
export function parseTryEvent(raw: unknown, teamId: number, now = new Date()): PluginEvent {
  if (!isObject(raw)) throw invalid('event', 'event must be a JSON object with at least an "event" name, e.g. { "event": "$pageview" }')
  const json = JSON.stringify(raw)
  if (Buffer.byteLength(json) > MAX_TRY_EVENT_BYTES) throw invalid('event', `event is larger than ${MAX_TRY_EVENT_BYTES} bytes`)
  const event = JSON.parse(json) as Record<string, unknown>
  if (typeof event.event !== 'string' || event.event.trim() === '') throw invalid('event.event', 'event.event must be a non-empty string (the event name)')
  if (event.distinct_id !== undefined && event.distinct_id !== null && typeof event.distinct_id !== 'string' && typeof event.distinct_id !== 'number')
    throw invalid('event.distinct_id', 'event.distinct_id must be a string')
  if (event.properties !== undefined && event.properties !== null && !isObject(event.properties))
    throw invalid('event.properties', 'event.properties must be an object')
  if (event.uuid !== undefined && event.uuid !== null && (typeof event.uuid !== 'string' || event.uuid === ''))
    throw invalid('event.uuid', 'event.uuid must be a non-empty string')
  if (event.timestamp !== undefined && event.timestamp !== null && (typeof event.timestamp !== 'string' || Number.isNaN(Date.parse(event.timestamp))))
    throw invalid('event.timestamp', 'event.timestamp must be an ISO 8601 date, e.g. "2024-05-01T12:00:00Z"')
  const distinctId = event.distinct_id === undefined || event.distinct_id === null || event.distinct_id === '' ? TRY_DISTINCT_ID : String(event.distinct_id)
  return {
    ...event,
    event: event.event,
    distinct_id: distinctId,
    properties: (event.properties as Record<string, unknown> | undefined | null) ?? {},
    team_id: teamId,
    uuid: (event.uuid as string | undefined | null) ?? randomUUID(),
    timestamp: (event.timestamp as string | undefined | null) ?? now.toISOString(),
    now: typeof event.now === 'string' ? event.now : now.toISOString(),
    ip: typeof event.ip === 'string' ? event.ip : null,
    site_url: typeof event.site_url === 'string' ? event.site_url : '',
  }
}

function positiveId(value: unknown): number | null {
  if (typeof value === 'number' && Number.isInteger(value) && value > 0 && value < 2 ** 31) return value
  if (typeof value === 'string' && /^\d{1,9}$/.test(value) && Number(value) > 0) return Number(value)
  return null
}

/** Values are never echoed in messages: any of them may be a secret. */
function configValues(raw: unknown): Record<string, ConfigInputValue> {
  if (raw === undefined || raw === null) return {}
  if (!isObject(raw)) throw invalid('config', 'target.config must be an object of field key to value')
  const config: Record<string, ConfigInputValue> = {}
  for (const [key, value] of Object.entries(raw)) {
    if (value !== null && typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean')
      throw invalid(`config.${key}`, `config.${key} must be a string`)
    config[key] = value
  }
  return config
}

/** Shaped as on POST /configs; checked against plugin.json once the plugin is known. */
function attachmentValues(raw: unknown): AttachmentInput[] {
  if (raw === undefined || raw === null) return []
  const attachments = parseAttachmentInputs(raw)
  const bytes = attachments.reduce((sum, a) => sum + a.contents.byteLength, 0)
  if (bytes > MAX_TRY_ATTACHMENT_BYTES)
    throw invalid('attachments', `attachments are ${bytes} bytes in all; a dry run takes at most ${MAX_TRY_ATTACHMENT_BYTES} (10 MB)`)
  return attachments
}

export function parseTryTarget(raw: unknown): TryTarget {
  if (!isObject(raw)) throw invalid('target', `target must be ${TARGET_SHAPES}`)
  const given = ['plugin_config_id', 'plugin_id', 'chain'].filter((key) => raw[key] !== undefined && raw[key] !== null)
  if (given.length !== 1) throw invalid('target', `target must be exactly one of ${TARGET_SHAPES}`)
  // Stored configs run with their stored values; silently ignoring given ones would mislead.
  if (given[0] !== 'plugin_id' && raw.config !== undefined) throw invalid('config', 'config values can only be given with target.plugin_id')
  if (given[0] !== 'plugin_id' && raw.attachments !== undefined) throw invalid('attachments', 'attachments can only be given with target.plugin_id')
  if (given[0] === 'chain') {
    if (raw.chain !== true) throw invalid('target.chain', 'target.chain must be true')
    return { kind: 'chain' }
  }
  if (given[0] === 'plugin_config_id') {
    const id = positiveId(raw.plugin_config_id)
    if (id === null) throw invalid('target.plugin_config_id', 'target.plugin_config_id must be a positive integer')
    return { kind: 'config', pluginConfigId: id }
  }
  const id = positiveId(raw.plugin_id)
  if (id === null && (typeof raw.plugin_id !== 'string' || raw.plugin_id.trim() === ''))
    throw invalid('target.plugin_id', 'target.plugin_id must be a plugin id or its plugin.json name')
  return { kind: 'plugin', plugin: id ?? (raw.plugin_id as string), config: configValues(raw.config), attachments: attachmentValues(raw.attachments) }
}
