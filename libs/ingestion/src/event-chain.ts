import { IngestEvent, jsonNestedDeeperThan, MAX_EVENT_DEPTH } from '@plugin-server/core'
import { PluginConfigUnavailableError } from '@plugin-server/plugin-runtime'
import { PluginStoreError } from '@plugin-server/plugin-vm'
import type { BatchText, SerializedPluginError } from '@plugin-server/plugin-vm'
import { LinkOutput } from './link-output'
import { fromPluginEvent, toPluginEvent } from './plugin-event'

/** One plugin config of a team's chain, named as `$plugins_succeeded` and friends name it. */
export interface ChainLink {
  readonly label: string
}

/** The event as one link returned it: an element of that call's text, still serialised (`output.json(index)`). */
export interface ChainOutput<L> {
  link: L
  output: LinkOutput<L>
  index: number
}

/** One event on its way through the chain. */
export interface ChainSlot<L> {
  event: IngestEvent
  /** What each link that succeeded on this event returned, in chain order; the last is the current event. */
  outputs: ChainOutput<L>[]
  /** The link whose falsy result dropped the event. */
  droppedBy: L | null
  /** Labels of the links that failed on this event, in the order they failed. */
  failed: string[]
}

export interface ChainFailure<L> {
  slot: ChainSlot<L>
  error: SerializedPluginError
}

/** What one link's call did to the events it was given. */
export interface LinkReport<L> {
  link: L
  inputs: ChainSlot<L>[]
  returned: number
  dropped: ChainSlot<L>[]
  failures: ChainFailure<L>[]
}

/**
 * What the chain cannot decide itself: which links run and how a link is called. Ingestion calls
 * the config's pooled instance and counts, logs and blames in the report hooks; Try it calls its
 * dry-run instance and shows each call as a step.
 */
export interface EventChainHooks<L> {
  /** Whether the link runs processEvent; asked just before its turn (Try it loads the plugin then). */
  runs(link: L): boolean | Promise<boolean>
  /** One call into the link's sandbox over the `count` events still in the chain, as one JSON array; a result per event. */
  /** `captureDepth`: the deepest of the batch's events; `captured`: how many of them a plugin captured. */
  call(link: L, batch: string, count: number, captureDepth: number, captured: number): Promise<BatchText>
  /** Labels of the team's configs that export: they see the stored event later, in the exporters. */
  deferred(): readonly string[]
  /**
   * CAPTURE_MAX_EVENT_BYTES: an event a link returns whose JSON text is longer (a character is at
   * least a byte) fails that link for that event, which goes on as it was, as capture refuses such an
   * event from a client. A plugin adding 500 KB to each 100-byte event made 100 MB of every batch
   * of 200, stored and copied into the export hand-offs. None when absent.
   */
  maxEventChars?: number
  /** After each link's call, before the next link runs. */
  linkDone?(report: LinkReport<L>): Promise<void>
  /** After the whole chain: outputs that cannot become a stored event, each blamed on the link that returned it. */
  invalid?(link: L, failures: ChainFailure<L>[]): Promise<void>
  /** After the whole chain: what a link returned that was ignored without failing it (a uuid that is not a UUID), once per link. */
  ignored?(link: L, message: string): Promise<void>
}

/**
 * The processEvent chain of one team's events, everything production decides about them: each
 * link over all events still in the chain in one call; a falsy result drops the event; an error
 * (or a result that is not an event) keeps the event as it was before that link and the chain goes
 * on. A call that failed because a server store failed under it (PluginStoreError) is no link's
 * error: it rejects the whole chain, so its caller retries the events. Each link gets the text the link before returned (LinkOutput) as its batch; outputs are
 * parsed once, after the chain (`fromPluginEvent`: $set/$set_once merged, the timestamp
 * normalised, a valid new uuid taken, the team kept); then `$plugins_succeeded`, `$plugins_failed` and
 * `$plugins_deferred` are set. Session recordings ($snapshot) skip the chain. The ingest step and
 * Try it both run this, so a dry run decides exactly what ingestion decides.
 */
export async function runEventChain<L extends ChainLink>(
  events: readonly IngestEvent[],
  links: readonly L[],
  hooks: EventChainHooks<L>,
): Promise<ChainSlot<L>[]> {
  const slots = events.map((event): ChainSlot<L> => ({ event, outputs: [], droppedBy: null, failed: [] }))
  const live = slots.filter((s) => s.event.event !== '$snapshot')
  if (live.length === 0) return slots
  for (const link of links) {
    const inputs = live.filter((s) => s.droppedBy === null)
    if (inputs.length === 0) break
    if (!(await hooks.runs(link))) continue
    const report = await runLink(link, inputs, hooks)
    for (const { slot } of report.failures) slot.failed.push(link.label)
    await hooks.linkDone?.(report)
  }
  await decode(live, hooks)
  const deferred = hooks.deferred()
  for (const slot of live) {
    if (slot.droppedBy !== null) continue
    const succeeded = slot.outputs.map((o) => o.link.label)
    if (succeeded.length === 0 && slot.failed.length === 0 && deferred.length === 0) continue
    if (succeeded.length > 0) {
      // Decoded from the last output: the event and its properties are fresh objects only this slot holds.
      const properties = slot.event.properties
      properties.$plugins_succeeded = succeeded
      properties.$plugins_failed = slot.failed
      properties.$plugins_deferred = deferred.slice()
      continue
    }
    // The event as the job holds it: copied, never changed in place.
    slot.event = {
      ...slot.event,
      properties: { ...slot.event.properties, $plugins_succeeded: succeeded, $plugins_failed: slot.failed, $plugins_deferred: deferred.slice() },
    }
  }
  return slots
}

async function runLink<L>(link: L, inputs: ChainSlot<L>[], hooks: EventChainHooks<L>): Promise<LinkReport<L>> {
  const report: LinkReport<L> = { link, inputs, returned: 0, dropped: [], failures: [] }
  let answer: BatchText
  let output: LinkOutput<L>
  try {
    let depth = 0
    let captured = 0
    for (const slot of inputs) {
      const own = slot.event.plugin_capture_depth ?? 0
      depth = Math.max(depth, own)
      if (own > 0) captured++
    }
    answer = await hooks.call(link, batchOf(inputs), inputs.length, depth, captured)
    const codes: unknown = answer?.codes
    if (typeof codes !== 'string' || codes.length !== inputs.length) {
      throw new Error(`processEvent returned ${typeof codes === 'string' ? codes.length : 'no'} results for a batch of ${inputs.length} events`)
    }
    output = new LinkOutput(link, typeof answer.events === 'string' ? answer.events : '[]')
    const returned = count(codes, 0x45)
    if (output.length !== returned) throw new Error(`processEvent returned ${output.length} events where its results name ${returned}`)
  } catch (err) {
    // A server store failed under the call, or the server could not load the config again (an evicted
    // one whose attachments Postgres did not give): not the link's fault, the whole chain fails and is retried.
    if (err instanceof PluginStoreError || err instanceof PluginConfigUnavailableError) throw err
    // The whole call failed (time or memory limit, isolate gone): this link fails for these events only.
    const error = toSerializedError(err)
    for (const slot of inputs) report.failures.push({ slot, error })
    return report
  }
  let returned = 0
  let failed = 0
  for (let i = 0; i < inputs.length; i++) {
    const slot = inputs[i]
    const code = answer.codes.charCodeAt(i)
    if (code === 0x4e) {
      slot.droppedBy = link
      report.dropped.push(slot)
    } else if (code !== 0x45) {
      report.failures.push({ slot, error: toSerializedError(answer.errors?.[failed++]) })
    } else {
      // Refused here, an event never reaches the next link, which would be blamed for it.
      const refused = output.isObject(returned) ? outputRefusal(output.json(returned), hooks.maxEventChars) : 'something that is not an event object'
      if (refused !== null) {
        returned++
        report.failures.push({ slot, error: { name: 'Error', message: `processEvent returned ${refused}`, isRetryError: false } })
        continue
      }
      slot.outputs.push({ link, output, index: returned++ })
      output.slots.push(slot)
      report.returned++
    }
  }
  return report
}

/**
 * Why an event a link returned (its JSON text) is not one capture would take from a client, or null.
 * Nested deeper than MAX_EVENT_DEPTH: parsed it would be, but stored it failed its team's whole batch
 * on every retry (the host's JSON.stringify gives up at about 4 400 levels). Longer than
 * `maxChars` (CAPTURE_MAX_EVENT_BYTES; a character is at least a byte).
 */
function outputRefusal(json: string, maxChars: number | undefined): string | null {
  if (jsonNestedDeeperThan(json, MAX_EVENT_DEPTH)) return `an event nested deeper than ${MAX_EVENT_DEPTH} levels, which capture refuses from clients too`
  if (maxChars !== undefined && json.length > maxChars) {
    return `an event of ${json.length} characters of JSON, over CAPTURE_MAX_EVENT_BYTES (${maxChars} bytes), which capture refuses from clients too`
  }
  return null
}

/**
 * The link's batch as one JSON array: the text the link before returned when the chain goes on
 * with exactly its events (the common case: no copy, no join); the events serialised in one call
 * at the first link; otherwise each event's current JSON joined.
 */
function batchOf<L>(inputs: ChainSlot<L>[]): string {
  const last = inputs[0].outputs.at(-1)
  if (last === undefined) {
    if (inputs.every((s) => s.outputs.length === 0)) return JSON.stringify(inputs.map((s) => toPluginEvent(s.event)))
  } else if (
    last.output.whole &&
    last.output.length === inputs.length &&
    inputs.every((s, i) => s.outputs.at(-1)?.output === last.output && s.outputs.at(-1)?.index === i)
  ) {
    return last.output.events
  }
  return '[' + inputs.map(currentJson).join(',') + ']'
}

function currentJson<L>(slot: ChainSlot<L>): string {
  const last = slot.outputs.at(-1)
  return last === undefined ? JSON.stringify(toPluginEvent(slot.event)) : last.output.json(last.index)
}

function count(codes: string, code: number): number {
  let n = 0
  for (let i = 0; i < codes.length; i++) if (codes.charCodeAt(i) === code) n++
  return n
}

/**
 * Parsed once, after the whole chain, however many links it went through. An output that cannot
 * become a stored event is the fault of the link that returned it: that link is blamed, and the
 * event falls back to what the link before it returned (or to the event as captured).
 */
async function decode<L extends ChainLink>(slots: ChainSlot<L>[], hooks: EventChainHooks<L>): Promise<void> {
  const blamed = new Map<L, ChainFailure<L>[]>()
  const refused = new Map<L, RefusedUuids>()
  for (const slot of slots) {
    if (slot.droppedBy !== null) continue
    for (let last = slot.outputs.at(-1); last !== undefined; last = slot.outputs.at(-1)) {
      const message = decodeInto(slot, last, (given) => {
        const link = uuidSetter(slot, given)
        const seen = refused.get(link)
        if (seen) seen.events++
        else refused.set(link, { events: 1, example: given })
      })
      if (message === null) break
      slot.outputs.pop()
      const failures = blamed.get(last.link) ?? []
      failures.push({ slot, error: { name: 'Error', message, isRetryError: false } })
      blamed.set(last.link, failures)
    }
  }
  for (const [link, failures] of blamed) {
    for (const { slot } of failures) slot.failed.push(link.label)
    await hooks.invalid?.(link, failures)
  }
  for (const [link, { events, example }] of refused) {
    const shown = JSON.stringify(example)?.slice(0, 100) ?? String(example)
    const what = events === 1 ? 'an event whose "uuid" is' : `${events} events whose "uuid" is, e.g.,`
    await hooks.ignored?.(link, `processEvent returned ${what} ${shown}, which is not a UUID: the event keeps its own uuid`)
  }
}

/** A link's outputs whose uuid was not a UUID: how many, and the first of them. */
interface RefusedUuids {
  events: number
  example: unknown
}

/**
 * The link that set the refused uuid: links after it passed it on unchanged, so it is the earliest
 * of the last outputs that all hold it. Parsed again only here, on an output already refused.
 */
function uuidSetter<L>(slot: ChainSlot<L>, given: unknown): L {
  // As JSON: each output is parsed anew, so an object or array given as a uuid is never the same object.
  const shown = JSON.stringify(given)
  let at = slot.outputs.length - 1
  for (; at > 0; at--) {
    const { output, index } = slot.outputs[at - 1]
    let uuid: unknown
    try {
      uuid = (output.value(index) as { uuid?: unknown } | null)?.uuid
    } catch {
      break
    }
    if (JSON.stringify(uuid) !== shown) break
  }
  return slot.outputs[at].link
}

/** Sets the slot's event from a link's output; what is wrong with the output otherwise. */
function decodeInto<L>(slot: ChainSlot<L>, { output, index }: ChainOutput<L>, refusedUuid: (given: unknown) => void): string | null {
  let value: unknown
  try {
    value = output.value(index)
  } catch (err) {
    return `processEvent returned an event that is not valid JSON: ${(err as Error).message}`
  }
  try {
    slot.event = fromPluginEvent(slot.event, value, refusedUuid)
    return null
  } catch (err) {
    return (err as Error).message
  }
}

/** A host error, or an error record from the sandbox, which a subverted sandbox could have shaped as anything. */
export function toSerializedError(value: unknown): SerializedPluginError {
  if (typeof value !== 'object' || value === null) return { name: 'Error', message: `processEvent failed: ${String(value)}`, isRetryError: false }
  const { name, message, isRetryError, stack } = value as Record<string, unknown>
  return {
    name: typeof name === 'string' && name !== '' ? name : 'Error',
    message: typeof message === 'string' ? message : (JSON.stringify(message) ?? 'no message'),
    isRetryError: isRetryError === true,
    // The log writer keeps only its frames, sanitised.
    ...(typeof stack === 'string' ? { stack } : {}),
  }
}
