import type { ChainSlot } from './event-chain'

const COMMA = 0x2c
const OPEN = 0x7b
const CLOSE = 0x7d

/**
 * The events one link returned from one call, kept as the sandbox's text (BatchText.events): the
 * next link gets that text as its batch when it goes on with exactly these events, without a copy
 * or a join on the host; after the chain each event is parsed from its line of the last text.
 */
export class LinkOutput<L> {
  /** The slots whose event this text holds, in its order (an element that is not an event object is not here). */
  readonly slots: ChainSlot<L>[] = []
  /** Each element's line: the first as it is, every other behind its separating comma. */
  private readonly lines: string[]

  constructor(
    readonly link: L,
    /** The body of a JSON array, its elements separated by "\n,". */
    readonly events: string,
  ) {
    this.lines = events === '' ? [] : events.split('\n')
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
    const start = index === 0 ? 0 : 1
    if (line === undefined || (start === 1 && line.charCodeAt(0) !== COMMA)) return false
    return line.length >= start + 2 && line.charCodeAt(start) === OPEN && line.charCodeAt(line.length - 1) === CLOSE
  }

  /** The element's JSON text. */
  json(index: number): string {
    return index === 0 ? this.lines[0] : this.lines[index].slice(1)
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
