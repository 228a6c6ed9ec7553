import type { ChainSlot } from './event-chain'

const COMMA = 0x2c
const OPEN = 0x7b
const CLOSE = 0x7d
const ARRAY_OPEN = 0x5b
const ARRAY_CLOSE = 0x5d

/**
 * The events one link returned from one call, kept as the sandbox's JSON array (BatchText.events):
 * the next link gets that text as its batch when it goes on with exactly these events, without a
 * copy or a join on the host; after the chain each event is parsed from its line of the last text.
 */
export class LinkOutput<L> {
  /** The slots whose event this text holds, in its order (an element that is not an event object is not here). */
  readonly slots: ChainSlot<L>[] = []
  /** Each element's line: behind `[` (the first) or its separating comma, the last followed by `]`. */
  private readonly lines: string[]

  constructor(
    readonly link: L,
    /** A JSON array, its elements separated by "\n,". */
    readonly events: string,
  ) {
    this.lines = events === '[]' ? [] : events.split('\n')
  }

  /** How many elements the text holds. */
  get length(): number {
    return this.lines.length
  }

  /** Whether every element went on in the chain, so the text is exactly their batch. */
  get whole(): boolean {
    return this.slots.length === this.lines.length
  }

  /**
   * Whether the element looks like an object: a cheap check that keeps one plugin's broken output
   * from reaching the next plugin (the sandbox checks every event; its answer is still not trusted).
   */
  isObject(index: number): boolean {
    const line = this.lines[index]
    if (line === undefined || line.charCodeAt(0) !== (index === 0 ? ARRAY_OPEN : COMMA)) return false
    const end = index === this.lines.length - 1 ? line.length - 2 : line.length - 1
    if (end === line.length - 2 && line.charCodeAt(line.length - 1) !== ARRAY_CLOSE) return false
    return end >= 2 && line.charCodeAt(1) === OPEN && line.charCodeAt(end) === CLOSE
  }

  /** The element's JSON text. */
  json(index: number): string {
    return this.lines[index].slice(1, index === this.lines.length - 1 ? -1 : undefined)
  }

  /**
   * The element parsed: its own object, as each element is decoded by one slot, once. Parsed one by
   * one: a text of 100 KB or more would be parsed straight into the old generation (V8 pretenures
   * large JSON sources), which costs more than these small parses and their scavenges. Throws what
   * JSON.parse throws.
   */
  value(index: number): unknown {
    return JSON.parse(this.json(index))
  }
}
