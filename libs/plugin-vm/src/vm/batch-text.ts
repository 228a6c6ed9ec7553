import type { BatchJsonResult, BatchText, SerializedPluginError } from '../interfaces'

const E = 0x45
const N = 0x4e
const X = 0x58

/** The runner's answer was not a batch text at all (a runner subverted past its own checks). */
function malformed(what: string): Error {
  return new Error(`processEvent answered a batch with ${what}`)
}

/**
 * A batch's answer as the sandbox's runner writes it (sandbox/event-lines.ts), read without parsing
 * or splitting the events: the codes line, one error line per `X`, then the returned events as one
 * JSON array (a slice of the answer: no copy). Throws when the text cannot be one the runner wrote; an error line that is not
 * JSON does too (the whole call then fails, as the sandbox's own answer could not be read).
 */
export function readBatchText(text: string): BatchText {
  const end = text.indexOf('\n')
  const codes = end < 0 ? text : text.slice(0, end)
  let failed = 0
  let returned = 0
  for (let i = 0; i < codes.length; i++) {
    const code = codes.charCodeAt(i)
    if (code === X) failed++
    else if (code === E) returned++
    else if (code !== N) throw malformed(`a result code that is not E, N or X at ${i}`)
  }
  const errors: SerializedPluginError[] = []
  let at = end < 0 ? text.length + 1 : end + 1
  for (let i = 0; i < failed; i++) {
    if (at > text.length) throw malformed(`${i} errors for ${failed} failed events`)
    const next = text.indexOf('\n', at)
    errors.push(JSON.parse(next < 0 ? text.slice(at) : text.slice(at, next)) as SerializedPluginError)
    at = next < 0 ? text.length + 1 : next + 1
  }
  if (returned === 0) {
    if (at <= text.length) throw malformed('events although none was returned')
    return { codes, errors, events: '[]' }
  }
  if (at > text.length) throw malformed(`no events although ${returned} were returned`)
  return { codes, errors, events: text.slice(at) }
}

/** Each returned event's JSON, in order: the events array split at its separators. */
export function splitEvents(events: string): string[] {
  if (events === '[]') return []
  const parts = events.split('\n')
  const last = parts.length - 1
  for (let i = 0; i <= last; i++) {
    const part = parts[i]
    if (part.charCodeAt(0) !== (i === 0 ? 0x5b : 0x2c)) throw malformed('events that are not one JSON array separated by "\\n,"')
    if (i === last && part.charCodeAt(part.length - 1) !== 0x5d) throw malformed('an events array that does not end')
    parts[i] = part.slice(1, i === last ? -1 : undefined)
  }
  return parts
}

/** One result per input event, each event's JSON on its own (processEventBatchJson). */
export function perEventResults(batch: BatchText): BatchJsonResult[] {
  const events = splitEvents(batch.events)
  const results: BatchJsonResult[] = []
  let returned = 0
  let failed = 0
  for (let i = 0; i < batch.codes.length; i++) {
    const code = batch.codes.charCodeAt(i)
    if (code === E) results.push({ ok: true, json: events[returned++] ?? null })
    else if (code === N) results.push({ ok: true, json: null })
    else results.push({ ok: false, error: batch.errors[failed++] })
  }
  if (returned !== events.length) throw malformed(`${events.length} events for ${returned} returned`)
  return results
}
