import type { PluginJobData } from './interfaces'

/**
 * What BullMQ keeps of a failed plugin job's message (`failedReason`) and of its stack (the one
 * entry of `stacktrace`, stackTraceLimit 1), each in UTF-8 bytes as JSON would encode it. Cut by
 * characters, 2 000 of them were up to 6 KB each, and every retry added a stack: 71 KB stored for
 * a job its team's account counted at 611 bytes, kept 7 days.
 */
export const PLUGIN_JOB_FAILURE_MAX_BYTES = 2000

/**
 * Bytes a plugin job is held at in its team's Redis account (PLUGIN_TEAM_REDIS_LIMIT_MB): its data,
 * its name twice more (BullMQ's `name` field of the hash and its `added` event in the queue's events stream), and the largest
 * failure it may keep (message, and stack in a JSON array), so what is counted is never less than what is stored.
 */
export function pluginJobReservedBytes(data: PluginJobData): number {
  return Buffer.byteLength(JSON.stringify(data)) + 2 * Buffer.byteLength(data.name) + 2 * PLUGIN_JOB_FAILURE_MAX_BYTES + '[""]'.length
}

/**
 * `text` cut so that its JSON encoding holds at most `maxBytes` UTF-8 bytes (quotes excluded): JSON
 * escapes only ever add, so the raw text holds no more. A pair of surrogates is never split.
 */
export function cutFailureText(text: string, maxBytes = PLUGIN_JOB_FAILURE_MAX_BYTES): string {
  const bytes = (s: string): number => Buffer.byteLength(JSON.stringify(s)) - 2
  if (text.length <= maxBytes / 6 || bytes(text) <= maxBytes) return text
  // The longest prefix that fits: each character takes 1 to 6 bytes encoded.
  let low = 0
  let high = Math.min(text.length, maxBytes)
  while (low < high) {
    const mid = Math.ceil((low + high) / 2)
    if (bytes(text.slice(0, mid)) <= maxBytes) low = mid
    else high = mid - 1
  }
  const code = text.charCodeAt(low - 1)
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? low - 1 : low)
}
